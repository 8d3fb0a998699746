from django.core.management.base import BaseCommand, CommandError

from approvals.domain.audit import verify_chain
from approvals.models import AuditChainHead, AuditEvent
from approvals.selectors import audit_chain_links


class Command(BaseCommand):
    help = "Prove the audit trail's hash chain: every event unaltered, none missing, in order."

    def handle(self, *args, **options):
        broken = verify_chain(audit_chain_links())
        if broken:
            raise CommandError(f"Audit chain broken at event #{broken.seq}: {broken.problem}.")
        head = AuditChainHead.objects.filter(id=1).first()
        last = AuditEvent.objects.order_by("-seq").first()
        if head and last and (head.seq, head.hash) != (last.seq, last.hash):
            raise CommandError(
                f"Audit chain broken after event #{last.seq}: later events are missing "
                f"(the chain head records #{head.seq})."
            )
        count = last.seq if last else 0
        self.stdout.write(self.style.SUCCESS(f"Audit chain verified: {count} events, intact."))
