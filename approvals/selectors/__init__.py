"""Every read of the approvals app, by subject:

- ``queues``: what waits in the queues, its cards, the one count of pending requests
  (``pending_approval_counts``: the nav, the queues' live counts and the tower's strip),
  what a person may see of the requests, delegations;
- ``policies``: the delegation policy in force, what a proposed version would have
  decided, what the policy pages list;
- ``links``: reading a signed approval link, and whether this person may follow it;
- ``autonomy``: each agent's track record (monitoring answers its operations half) and
  the agents page's view of it.

Import from here; the modules are an implementation detail.
"""

from .autonomy import (
    Operations,
    agent_actions_proposed,
    agent_operations,
    autonomy_changes,
    autonomy_overview,
    autonomy_recommendation_waiting,
    brand_rule,
    operations_source_register,
    track_record,
)
from .links import (
    LinkedDecision,
    approval_link_read,
    link_hours,
    link_refusal,
    link_use_of,
    link_used_message,
)
from .policies import (
    policy_brands,
    policy_brands_in_force,
    policy_campaigns,
    policy_impact,
    policy_in_force,
    policy_proposals,
    policy_versions,
)
from .queues import (
    Pending,
    QueueView,
    active_user_named,
    approval_card,
    approvals_visible_to,
    campaign_approvals,
    draft_identity,
    pending_approval_counts,
    previous_versions,
    queue_campaign_choices,
    queue_counts_for_user,
    queue_filter_options,
    queue_filtered,
    queue_for_user,
    queue_group_count,
    review_delegations_of,
)

__all__ = [
    "LinkedDecision",
    "Operations",
    "Pending",
    "QueueView",
    "active_user_named",
    "agent_actions_proposed",
    "agent_operations",
    "approval_card",
    "approval_link_read",
    "approvals_visible_to",
    "autonomy_changes",
    "autonomy_overview",
    "autonomy_recommendation_waiting",
    "brand_rule",
    "campaign_approvals",
    "draft_identity",
    "link_hours",
    "link_refusal",
    "link_use_of",
    "link_used_message",
    "operations_source_register",
    "pending_approval_counts",
    "policy_brands",
    "policy_brands_in_force",
    "policy_campaigns",
    "policy_impact",
    "policy_in_force",
    "policy_proposals",
    "policy_versions",
    "previous_versions",
    "queue_campaign_choices",
    "queue_counts_for_user",
    "queue_filter_options",
    "queue_filtered",
    "queue_for_user",
    "queue_group_count",
    "review_delegations_of",
    "track_record",
]
