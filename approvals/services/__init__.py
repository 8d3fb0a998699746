"""Every write of the approvals app, by job:

- ``gate``: the delegation-policy gate every delegated action passes (``action_propose``),
  and the policy in force for a campaign;
- ``decisions``: a person's answer to an approval request, carrying out what was
  approved, and the one helper that changes a request's status (through the transition
  table in ``approvals.domain.status``);
- ``timers``: the SLA sweep — escalating, expiring, approving by default;
- ``policy_changes``: the two-person rule for changing the delegation policy;
- ``reviews``: claiming, handing on and delegating reviews;
- ``claims``: requests that waited for legal only for claims legal has now approved;
- ``links``: signed approval links (making, using) and telling a request's reviewers;
- ``autonomy``: agents' autonomy stepped along their track records;
- ``announce``: what these writes announce to the apps above (``governance.events``).

Every write follows the lock order documented in ``governance.services``: nothing waits
for a row lock after the first audit event of its transaction.

Import from here; the modules are an implementation detail.
"""

from ..domain.status import AlreadyDecided
from .autonomy import AUTONOMY, autonomy_review, autonomy_step_apply
from .claims import approvals_reconsider_claims
from .decisions import ManyResult, approval_decide, approvals_decide_many
from .gate import GateResult, action_propose, active_policy, approved_claims_for
from .links import (
    approval_link_token,
    approval_link_url,
    approval_link_use,
    approval_notify_reviewers,
)
from .policy_changes import PolicyChangeInvalid, policy_decide, policy_propose
from .reviews import approval_claim, approval_reassign, review_delegate
from .timers import TIMER_ACTOR, SweepResult, approval_timers_sweep

__all__ = [
    "AUTONOMY",
    "TIMER_ACTOR",
    "AlreadyDecided",
    "GateResult",
    "ManyResult",
    "PolicyChangeInvalid",
    "SweepResult",
    "action_propose",
    "active_policy",
    "approval_claim",
    "approval_decide",
    "approval_link_token",
    "approval_link_url",
    "approval_link_use",
    "approval_notify_reviewers",
    "approval_reassign",
    "approval_timers_sweep",
    "approvals_decide_many",
    "approvals_reconsider_claims",
    "approved_claims_for",
    "autonomy_review",
    "autonomy_step_apply",
    "policy_decide",
    "policy_propose",
    "review_delegate",
]
