"""The life of a run: claiming it, committing its result, releasing it for a retry,
stopping and escalating it, and reaping runs a dead worker left behind.

The life of a run (see ``AgentRun``):

    requested (queued, inside the caller's transaction)
      → claimed by a worker (running, attempt n, lease)       agent_run_claim
      → the specialist works, outside any transaction          agents.specialists
      → result committed if attempt n still holds the run      agent_run_complete
    or
      → the model is unreachable: released for a retry         agent_run_release
      → the model's output stays malformed: escalated          agent_run_escalate
      → the lease runs out (worker killed): re-queued          agent_runs_reap
      → it has used its attempts (the same failure each time): failed and escalated,
        with the last error as the reason                       agent_run_claim / _release

A handoff that fails its schema is kept as evidence, stops its run, and escalates the
campaign (``handoffs``) — a broken chain is never passed on and never silent.

Locks follow the one order documented in ``governance.services`` (run → campaign → …
→ audit chain head last): every run lock is ``_lock_run`` (the run row, then its
campaign, both FOR NO KEY UPDATE, never a join).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from campaigns.domain.phases import Phase
from governance import events
from governance.domain.audit import Actor
from governance.services import audit_record

from ..domain.spend import month_start, spend_cap_refusal
from ..models import AgentRun, RunStatus

logger = logging.getLogger(__name__)

UNFINISHED = (RunStatus.QUEUED, RunStatus.RUNNING)
FAILED = RunStatus.FAILED


# --- Claiming, completing, releasing ---------------------------------------------------


@dataclass(frozen=True)
class RunHold:
    """A worker's hold on a run: valid while the run is running at this attempt."""

    run_id: int
    campaign_id: int
    agent: str
    attempt: int


def agent_run_claim(*, run_id: int, now: datetime | None = None) -> RunHold | None:
    """Take a queued run (or one whose lease ran out) for this worker. ``None`` when
    there is nothing to do: it is finished, a live worker holds it, its campaign is
    paused or escalated (it waits in the queue, no attempt used), or it was stopped
    here — its worker died too often, it has used its attempts
    (``CONTROLTOWER_AGENT_MAX_ATTEMPTS``: failed, the campaign escalated with the last
    error as the reason), or the brand's model spend cap would be crossed."""
    from .. import providers
    from ..specialists import ALWAYS_WORKING

    now = now or timezone.now()
    with transaction.atomic():
        # TRICKY: wait for the run's row, never skip it. This task is the only consumer
        # of its run id, so a claim that skipped a row locked for a moment (another
        # worker's claim, a duplicate delivery, the reaper) ended as a no-op and left
        # the run queued until the reaper's grace ran out (issue 13: 631 s, and with
        # the campaign and brand rows locked too, any two claims for one brand collided).
        # The wait is bounded; past it the task retries (a lock timeout is transient).
        run = _lock_run(run_id, wait=settings.CONTROLTOWER_AGENT_CLAIM_WAIT_SECONDS)
        if run is None or run.status not in UNFINISHED:
            return None
        if run.status == RunStatus.RUNNING and run.lease_expires_at and run.lease_expires_at > now:
            return None  # a live worker has it: this delivery is a duplicate
        if run.interruptions >= settings.CONTROLTOWER_AGENT_MAX_INTERRUPTIONS:
            _stop(
                run,
                f"Its worker died {run.interruptions} times during this run; a person should "
                "look before it is tried again.",
                FAILED,
                kind="retries_exhausted",
            )
            return None
        if run.attempts >= settings.CONTROLTOWER_AGENT_MAX_ATTEMPTS:
            _stop(run, _attempts_used(run), FAILED, kind="retries_exhausted")
            return None
        phase = Phase(run.campaign.phase)
        if phase in (Phase.PAUSED, Phase.ESCALATED) and run.agent not in ALWAYS_WORKING:
            # An escalation (or a pause) stops the agents' work on the campaign until a
            # person resolves it; the run waits in the queue (the reaper re-sends it).
            _wait(run, f"Waiting: the campaign is {phase.label}.", now)
            return None
        refusal = _spend_cap_refusal(run, providers.max_cost_per_run(), now)
        if refusal:
            _stop(run, refusal, FAILED, kind="spend_cap")
            return None
        first = run.attempts == 0
        run.status, run.attempts = RunStatus.RUNNING, run.attempts + 1
        run.started_at = run.started_at or now
        run.lease_expires_at = now + timedelta(seconds=settings.CONTROLTOWER_AGENT_LEASE_SECONDS)
        run.model_label = providers.model_label()
        run.save(
            update_fields=["status", "attempts", "started_at", "lease_expires_at", "model_label"]
        )
        audit_record(
            actor=Actor.for_agent(run.agent),
            action="agent.run_started" if first else "agent.run_retried",
            target=run,
            brand_id=run.campaign.brand_id,
            campaign_id=run.campaign_id,
            data={"key": run.key, "attempt": run.attempts, "model": run.model_label},
        )
        _timeline_changed(run.campaign_id)
    return RunHold(run.pk, run.campaign_id, run.agent, run.attempts)


def agent_run_attempts_left(claim: RunHold) -> bool:
    """Whether a failure on this attempt still leaves the run another."""
    return claim.attempt < settings.CONTROLTOWER_AGENT_MAX_ATTEMPTS


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal("0")
    model_label: str = ""


def agent_run_complete(
    *, claim: RunHold, usage: Usage, commit: Callable[[AgentRun], bool]
) -> AgentRun | None:
    """Commit a run's result in one transaction: ``commit`` writes what the specialist
    produced (its handoff, the next runs, proposals through the gate) and says whether
    the run succeeded; then the run is finished. ``None`` if this worker lost the run
    meanwhile (its lease ran out and another attempt took over): a zombie's result is
    dropped, never written twice."""
    with transaction.atomic():
        run = _held(claim)
        if run is None:
            logger.warning(
                "Run %s attempt %s lost its lease; result dropped", claim.run_id, claim.attempt
            )
            return None
        _account(run, usage)
        if not commit(run):
            return AgentRun.objects.get(pk=run.pk)
        return _succeed(run)


def agent_run_release(*, claim: RunHold, error: str) -> None:
    """Give a run back to the queue after a failure worth another try (the model was
    unreachable, a database blip, a bug in the specialist); the task retries it with
    backoff, or the reaper re-sends it. A run that has used its attempts is failed
    instead and its campaign escalated, ``error`` named as the reason: the same input
    failing every time is a person's problem, not a queue's."""
    with transaction.atomic():
        run = _held(claim, campaign=False)
        if run is None:
            return
        run.error = _fit(error, 2000)
        if run.attempts >= settings.CONTROLTOWER_AGENT_MAX_ATTEMPTS:
            _stop(run, _attempts_used(run), FAILED, kind="retries_exhausted")
            return
        run.status, run.lease_expires_at = RunStatus.QUEUED, timezone.now() + _queue_grace()
        run.save(update_fields=["status", "error", "lease_expires_at"])
        _timeline_changed(run.campaign_id)


def agent_run_escalate(
    *,
    claim: RunHold,
    reason: str,
    kind: str,
    usage: Usage = Usage(),
    final_status: str = RunStatus.ESCALATED,
) -> AgentRun | None:
    """Stop a run that cannot produce a valid result (``kind``: malformed_output after
    its retries, model_unavailable after every retry, handoff_invalid input) and
    escalate its campaign."""
    with transaction.atomic():
        run = _held(claim)
        if run is None:
            return None
        _account(run, usage)
        _stop(run, reason, final_status, kind=kind)
    return run


def agent_run_stop(run: AgentRun, reason: str, *, findings: tuple[str, ...] = ()) -> None:
    """Escalate a run from inside its commit: a specialist found its own work unusable
    (every draft broke the brand's rules: ``findings``; scores refused)."""
    _stop(run, reason, RunStatus.ESCALATED, kind="content_check", findings=findings)


def agent_runs_reap(*, now: datetime | None = None) -> list[int]:
    """Re-queue runs stranded by a hard kill (running, lease run out) and re-send runs
    whose task never arrived (queued, grace run out). Beat calls this every minute.
    Re-sending is always safe: a claim on a run someone holds or finished is a no-op."""
    now = now or timezone.now()
    reaped = []
    with transaction.atomic():
        # A sweep skips what another transaction holds: the holder is working the run.
        stranded = (
            AgentRun.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
            .select_related("campaign")
            .filter(status__in=UNFINISHED, lease_expires_at__lt=now)
            .order_by("lease_expires_at")[:500]
        )
        for run in stranded:
            if run.status == RunStatus.RUNNING:
                run.interruptions += 1
                audit_record(
                    actor=Actor.system("reaper"),
                    action="agent.run_reaped",
                    target=run,
                    brand_id=run.campaign.brand_id,
                    campaign_id=run.campaign_id,
                    data={"attempt": run.attempts, "lease_expired_at": run.lease_expires_at},
                )
            run.status, run.lease_expires_at = RunStatus.QUEUED, now + _queue_grace()
            run.save(update_fields=["status", "lease_expires_at", "interruptions"])
            _enqueue_on_commit(run.pk)
            reaped.append(run.pk)
    return reaped


# --- Internals -------------------------------------------------------------------------


def _lock_run(run_id: int, *, campaign: bool = False, wait: float | None = None) -> AgentRun | None:
    """Lock a run's row and, with ``campaign``, then its campaign's: the order every
    writer here takes (``governance.services``, "Lock order"). Both FOR NO KEY UPDATE and
    never through a join (``of``): the rows others only point at stay free for their
    foreign-key checks. ``wait`` bounds the wait for the run's row (seconds)."""
    from campaigns.models import Campaign

    with _lock_timeout(wait):
        run = (
            AgentRun.objects.select_for_update(no_key=True, of=("self",))
            .select_related("campaign__brand")
            .filter(pk=run_id)
            .first()
        )
    if run is not None and campaign:
        # Read after the lock: what the commit decides on is the campaign as it is now.
        locked = (
            Campaign.objects.select_for_update(no_key=True, of=("self",))
            .select_related("brand", "brief")
            .get(pk=run.campaign_id)
        )
        run.campaign = locked
    return run


@contextmanager
def _lock_timeout(seconds: float | None) -> Iterator[None]:
    """Within a transaction on PostgreSQL, give up waiting for a row lock after
    ``seconds`` (a ``LockNotAvailable``, an ``OperationalError`` the task retries), then
    wait as before for the rest of the transaction."""
    if seconds is None or connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        (before,) = cursor.fetchone()
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(seconds * 1000)}ms"])
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])


def _held(claim: RunHold, *, campaign: bool = True) -> AgentRun | None:
    """The run, locked (with its campaign unless ``campaign`` is off), if this worker's
    attempt still holds it."""
    run = _lock_run(claim.run_id, campaign=campaign)
    if run is None or run.status != RunStatus.RUNNING or run.attempts != claim.attempt:
        return None
    return run


def _wait(run: AgentRun, reason: str, now: datetime) -> None:
    """Leave a run queued, unattempted, until the reaper sends it again."""
    run.status, run.lease_expires_at = RunStatus.QUEUED, now + _queue_grace()
    changed = run.error != reason
    run.error = reason
    run.save(update_fields=["status", "error", "lease_expires_at"])
    if changed:
        _timeline_changed(run.campaign_id)


def _attempts_used(run: AgentRun) -> str:
    """Why a run that kept failing stopped, in plain words (the escalation prefixes the
    agent: "Content agent: failed 4 times on the same input: ValidationError: …")."""
    last = run.error.strip() or "no error was recorded"
    return f"failed {run.attempts} times on the same input: {_fit(last, 600)}"


def _account(run: AgentRun, usage: Usage) -> None:
    """Add what the model calls cost (failed attempts cost money too)."""
    run.input_tokens += usage.input_tokens
    run.output_tokens += usage.output_tokens
    run.cost += usage.cost
    if usage.model_label:
        run.model_label = usage.model_label
    run.save(update_fields=["input_tokens", "output_tokens", "cost", "model_label"])


def _succeed(run: AgentRun) -> AgentRun:
    run.status, run.finished_at, run.lease_expires_at = RunStatus.SUCCEEDED, timezone.now(), None
    run.error = ""
    run.save(update_fields=["status", "finished_at", "lease_expires_at", "error"])
    audit_record(
        actor=Actor.for_agent(run.agent),
        action="agent.run_succeeded",
        target=run,
        brand_id=run.campaign.brand_id,
        campaign_id=run.campaign_id,
        data={
            "tokens_in": run.input_tokens,
            "tokens_out": run.output_tokens,
            "cost": str(run.cost),
            "attempts": run.attempts,
        },
    )
    _timeline_changed(run.campaign_id)
    return run


def _stop(
    run: AgentRun, reason: str, status: str, *, kind: str, findings: tuple[str, ...] = ()
) -> None:
    """End a run that failed, and announce it (``events.agent_stopped``, ``kind``: what
    went wrong): monitoring escalates as its rules say, in this transaction — a live
    campaign is escalated, which stops its agents and tells its people."""
    from campaigns.models import Campaign

    # The campaign before the audit chain head (lock order): the escalation the
    # announcement opens locks it, and a head-holder must never wait for a row lock.
    Campaign.objects.select_for_update(no_key=True).filter(pk=run.campaign_id).first()
    run.status, run.finished_at, run.lease_expires_at = status, timezone.now(), None
    run.error = _fit(reason, 2000)
    run.save(update_fields=["status", "finished_at", "lease_expires_at", "error"])
    actor = Actor.for_agent(run.agent)
    audit_record(
        actor=actor,
        action=f"agent.run_{status}",
        target=run,
        brand_id=run.campaign.brand_id,
        campaign_id=run.campaign_id,
        data={"reason": run.error[:500], "attempts": run.attempts, "kind": kind},
    )
    events.announce(
        events.agent_stopped,
        campaign_id=run.campaign_id,
        agent_run_id=run.pk,
        kind=kind,
        summary=_fit(f"{run.agent.capitalize()} agent: {reason}"),
        reason=reason,
        findings=findings,
        actor=actor,
    )
    _timeline_changed(run.campaign_id)


def _spend_cap_refusal(run: AgentRun, max_cost: Decimal, now: datetime) -> str:
    cap = run.campaign.brand.llm_monthly_cap
    if cap is None:
        return ""
    spent = AgentRun.objects.filter(
        campaign__brand_id=run.campaign.brand_id, queued_at__gte=month_start(now)
    ).aggregate(total=Sum("cost"))["total"] or Decimal("0")
    return spend_cap_refusal(spent=spent, max_run_cost=max_cost, cap=cap)


def _queue_grace() -> timedelta:
    return timedelta(seconds=settings.CONTROLTOWER_AGENT_QUEUE_GRACE_SECONDS)


def _enqueue_on_commit(run_id: int) -> None:
    from ..tasks import run_agent

    transaction.on_commit(lambda: run_agent.delay(run_id))


def _timeline_changed(campaign_id: int) -> None:
    events.announce_on_commit(events.agent_work_changed, campaign_id=campaign_id)


def _fit(text: str, limit: int = 900) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
