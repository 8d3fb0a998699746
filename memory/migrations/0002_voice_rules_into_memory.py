"""Copy each brand's ``voice_rules`` list into voice-rule entries of its memory.

``Brand.voice_rules`` itself stays until agents read memory instead. Each brand's import
is one audit event, appended to the hash chain exactly as ``approvals.services.
audit_record`` does (historical models have no methods, so the hashed content is spelled
out here and must match ``AuditEvent.hashed_content``).
"""

import json

from django.db import migrations
from django.utils import timezone

AGENT = "system:voice-rules-import"
NOTE = "Imported from the brand's voice rules."


def _same(a, b):
    return " ".join(a.split()).casefold().rstrip(".! ") == " ".join(b.split()).casefold().rstrip(
        ".! "
    )


def copy_voice_rules(apps, schema_editor):
    from governance.domain.audit import event_hash

    Brand = apps.get_model("campaigns", "Brand")
    MemoryEntry = apps.get_model("memory", "MemoryEntry")
    MemoryVersion = apps.get_model("memory", "MemoryVersion")
    AuditEvent = apps.get_model("approvals", "AuditEvent")
    AuditChainHead = apps.get_model("approvals", "AuditChainHead")

    for brand in Brand.objects.order_by("pk"):
        rules = [" ".join(str(r).split()) for r in brand.voice_rules or [] if str(r).strip()]
        existing = list(
            MemoryEntry.objects.filter(brand=brand, kind="voice_rule", status="active").values_list(
                "text", flat=True
            )
        )
        now = timezone.now()
        refs = []
        for rule in rules:
            if any(_same(rule, text) for text in existing):
                continue
            entry = MemoryEntry.objects.create(
                brand=brand,
                kind="voice_rule",
                text=rule,
                evidence={},
                status="active",
                version=1,
                updated_at=now,
            )
            MemoryVersion.objects.create(
                entry=entry,
                number=1,
                text=rule,
                evidence={},
                status="active",
                changed_by_agent=AGENT,
                change_note=NOTE,
                created_at=now,
            )
            existing.append(rule)
            refs.append(f"M{entry.pk}")
        if not refs:
            continue
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        data = json.loads(json.dumps({"refs": refs, "note": NOTE}))
        content = {
            "seq": head.seq + 1,
            "occurred_at": now.isoformat(),
            "actor_label": AGENT,
            "actor_user_id": None,
            "actor_agent": AGENT,
            "action": "memory.voice_rules_imported",
            "object_type": "campaigns.brand",
            "object_id": str(brand.pk),
            "brand_id": brand.pk,
            "campaign_id": None,
            "data": data,
        }
        digest = event_hash(head.hash, content)
        AuditEvent.objects.create(
            seq=content["seq"],
            occurred_at=now,
            actor_label=AGENT,
            actor_agent=AGENT,
            action=content["action"],
            object_type=content["object_type"],
            object_id=content["object_id"],
            brand_id=brand.pk,
            data=data,
            prev_hash=head.hash,
            hash=digest,
        )
        head.seq, head.hash = content["seq"], digest
        head.save(update_fields=["seq", "hash"])


class Migration(migrations.Migration):
    dependencies = [
        ("memory", "0001_brand_memory_and_claims"),
        ("approvals", "0010_claims_and_delegation"),
    ]

    # Nothing to undo: the entries stay (removing facts people may have edited since would
    # lose their history), and voice_rules was never changed.
    operations = [migrations.RunPython(copy_voice_rules, migrations.RunPython.noop)]
