"""Prove the audit trail intact: every event unaltered, none missing, in order, the chain
head where the last event is — and, with ``--checkpoint``, that the trail still reaches
where a signed checkpoint kept outside the database says it had reached.

    python manage.py audit_verify [--checkpoint FILE_OR_FOLDER ...]

A folder means its newest checkpoint. See docs/AUDIT.md for what is and is not detectable.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from governance.domain.audit import checkpoint_problem, verify_chain
from governance.models import AuditChainHead, AuditEvent
from governance.selectors import audit_chain_links
from governance.services import audit_checkpoint_key


class Command(BaseCommand):
    help = "Prove the audit trail's hash chain: every event unaltered, none missing, in order."

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoint",
            action="append",
            default=[],
            help="a signed checkpoint (or a folder of them: the newest is used) to check "
            "the trail against; repeatable",
        )

    def handle(self, *args, checkpoint, **options):
        broken = verify_chain(audit_chain_links())
        if broken:
            raise CommandError(f"Audit chain broken at event #{broken.seq}: {broken.problem}.")
        head = AuditChainHead.objects.filter(id=1).first()
        last = AuditEvent.objects.order_by("-seq").first()
        head_seq = head.seq if head else 0
        if last is None and head_seq:
            # TRICKY: an emptied trail verifies trivially event by event; the head says
            # how many there were.
            raise CommandError(
                f"Audit trail emptied: the chain head records #{head_seq}, but no events are left."
            )
        if head and last and (head.seq, head.hash) != (last.seq, last.hash):
            raise CommandError(
                f"Audit chain broken after event #{last.seq}: later events are missing "
                f"(the chain head records #{head.seq})."
            )
        for path in checkpoint:
            self._check(_checkpoint_file(Path(path)), head_seq)
        count = last.seq if last else 0
        checked = f"; {len(checkpoint)} checkpoint(s) match" if checkpoint else ""
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain verified: {count} events, intact{checked}.")
        )

    def _check(self, path: Path, head_seq: int) -> None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read the checkpoint {path}: {exc}") from exc
        seq = data.get("seq") if isinstance(data, dict) else None
        stored = dict(
            AuditEvent.objects.filter(seq=seq).values_list("seq", "hash")
            if isinstance(seq, int)
            else []
        )
        problems = [
            checkpoint_problem(data, key=key, event_hash_at=stored, head_seq=head_seq)
            for key in _keys()
        ]
        if all(problems):
            # The signature check fails for every key but the right one: report the rest.
            real = [p for p in problems if "signature" not in p]
            raise CommandError(f"Checkpoint {path.name}: {(real or problems)[0]}.")


def _checkpoint_file(path: Path) -> Path:
    if path.is_dir():
        found = sorted(path.glob("audit-checkpoint-*.json"))
        if not found:
            raise CommandError(f"No checkpoints in {path}.")
        return found[-1]
    return path


def _keys() -> list[bytes]:
    """The current key, then those derived from SECRET_KEY_FALLBACKS (key rotation)."""
    keys = [audit_checkpoint_key()]
    if not getattr(settings, "CONTROLTOWER_AUDIT_CHECKPOINT_KEY", ""):
        for old in getattr(settings, "SECRET_KEY_FALLBACKS", []):
            keys.append(hashlib.sha256(f"audit-checkpoint:{old}".encode()).digest())
    return keys
