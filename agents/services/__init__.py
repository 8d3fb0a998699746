"""Every write of the agents app, by job:

- ``work``: asking the agents for work (a plan for a new brief, publishing, the work a
  phase change starts, a person's ask) — queued in the caller's transaction;
- ``runs``: the life of a run — claimed with a lease, committed, released for a retry,
  stopped and escalated, reaped after a dead worker;
- ``handoffs``: what a run hands on, validated, stored, and read back;
- ``experiments``: experiments that reallocate themselves (allocation rounds through
  the gate, guardrails, naming the winner);
- ``learning``: lessons from experiments and reviewers' reasons, proposed to brand
  memory through the gate.

Import from here; the modules are an implementation detail.
"""

from .experiments import allocation_apply, experiment_allocate, experiments_reallocate
from .handoffs import hand_on, handoff_read, handoff_record
from .learning import memory_learn_all, memory_learn_from_experiment, memory_learn_from_reviews
from .runs import (
    RunHold,
    Usage,
    agent_run_attempts_left,
    agent_run_claim,
    agent_run_complete,
    agent_run_escalate,
    agent_run_release,
    agent_run_stop,
    agent_runs_reap,
)
from .work import (
    ON_REQUEST,
    agent_work_ask,
    agent_work_request,
    campaign_agents_start,
    campaign_phase_follow_up,
    distribution_request,
)

__all__ = [
    "ON_REQUEST",
    "RunHold",
    "Usage",
    "agent_run_attempts_left",
    "agent_run_claim",
    "agent_run_complete",
    "agent_run_escalate",
    "agent_run_release",
    "agent_run_stop",
    "agent_runs_reap",
    "agent_work_ask",
    "agent_work_request",
    "allocation_apply",
    "campaign_agents_start",
    "campaign_phase_follow_up",
    "distribution_request",
    "experiment_allocate",
    "experiments_reallocate",
    "hand_on",
    "handoff_read",
    "handoff_record",
    "memory_learn_all",
    "memory_learn_from_experiment",
    "memory_learn_from_reviews",
]
