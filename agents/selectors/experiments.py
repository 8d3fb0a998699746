"""A campaign's experiments as its page shows them (each channel's test: the latest
round's read-out, the shares applied over time, the figures built by ``agents.charts``),
and the traffic shares in force, which the allocator and the sandbox market read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from campaigns.domain.briefs import CHANNELS
from campaigns.models import Campaign

from ..models import AllocationRound, Experiment, RoundStatus


@dataclass(frozen=True)
class ExperimentView:
    """One channel's test as the campaign page shows it: the latest round's read-out and
    the shares applied over time, with the figures already built."""

    experiment: Any
    channel_label: str
    latest: Any  # the latest AllocationRound
    summary: str
    share_summary: str
    intervals_figure: dict[str, Any]
    best_figure: dict[str, Any]
    share_figure: dict[str, Any]
    approval_id: int | None
    #: The shares traffic follows now (the latest *applied* round's, else an even split),
    #: by arm label: what the table's "Share now", the traffic chart and its summary say.
    in_force: dict[str, float] | None = None

    @property
    def proposal(self) -> bool:
        """The latest round proposes other shares that are not in force (waiting for
        approval, or refused): the table shows them beside the shares in force."""
        return self.latest.status != RoundStatus.APPLIED and bool(self.latest.shares)

    @property
    def pk(self) -> int:
        return self.experiment.pk

    @property
    def intervals_id(self) -> str:
        return f"chart-intervals-{self.pk}-data"

    @property
    def best_id(self) -> str:
        return f"chart-best-{self.pk}-data"

    @property
    def shares_id(self) -> str:
        return f"chart-shares-{self.pk}-data"

    @property
    def arms_table(self) -> list[dict[str, str]]:
        """The latest round's arms as the page's table reads them (plain strings)."""
        rows = []
        for arm in sorted(self.latest.arms, key=lambda a: -float(a["mean"])):
            rows.append(
                {
                    "label": arm["label"],
                    "headline": arm.get("headline", ""),
                    "trials": f"{int(arm['trials']):,}",
                    "successes": f"{int(arm['successes']):,}",
                    "rate": f"{arm['mean']:.2%} ({arm['low']:.2%} to {arm['high']:.2%})",
                    "best": _chance(float(arm["prob_best"])),
                    "share": _percent(self._share_now(arm["label"])),
                    "proposed": _percent(float(self.latest.shares.get(arm["label"], 0))),
                    "stopped": arm.get("stopped", ""),
                }
            )
        return rows

    def _share_now(self, label: str) -> float:
        if self.in_force is not None:
            return float(self.in_force.get(label, 0))
        return float(self.latest.shares.get(label, 0))


def _percent(share: float) -> str:
    return f"{share:.0%}".replace("%", " %")


def _chance(p: float) -> str:
    """A probability as the summary writes it: never rounded to certainty."""
    if p > 0.99:
        return "> 99 %"
    if 0 < p < 0.01 or p == 0:
        return "< 1 %"
    return f"{p:.0%}".replace("%", " %")


def campaign_experiments(campaign_id: int) -> list[ExperimentView]:
    """The campaign's tests (the latest per channel), newest round's read-out first."""
    # Here, not at the top: plotly loads where figures are drawn, not in the workers
    # that only read the shares in force.
    from .. import charts

    views = []
    seen: set[str] = set()
    experiments = Experiment.objects.filter(campaign_id=campaign_id).order_by("-started_at")
    for experiment in experiments:
        if experiment.channel in seen:
            continue
        seen.add(experiment.channel)
        rounds = list(AllocationRound.objects.filter(experiment=experiment).order_by("number"))
        if not rounds:
            continue
        latest = rounds[-1]
        readouts = [
            charts.ArmReadout(
                label=f"{arm['label']} {arm.get('headline', '')}".strip()[:60],
                mean=float(arm["mean"]),
                low=float(arm["low"]),
                high=float(arm["high"]),
                prob_best=float(arm["prob_best"]),
                trials=int(arm["trials"]),
                successes=int(arm["successes"]),
                stopped=arm.get("stopped", ""),
                winner=arm["label"] == experiment.winner,
            )
            for arm in latest.arms
        ]
        labels = {
            arm["label"]: f"{arm['label']} {arm.get('headline', '')}".strip()[:60]
            for arm in latest.arms
        }
        even = {label: 1 / len(labels) for label in labels.values()}
        history = [(experiment.started_at, even)] + [
            (r.applied_at, {labels.get(k, k): v for k, v in r.shares.items()})
            for r in rounds
            if r.status == RoundStatus.APPLIED and r.applied_at
        ]
        winner_label = labels.get(experiment.winner) if experiment.winner else None
        approval = (
            latest.decision.approval_request
            if latest.decision_id and hasattr(latest.decision, "approval_request")
            else None
        )
        applied = [r for r in rounds if r.status == RoundStatus.APPLIED]
        in_force = (
            {k: float(v) for k, v in applied[-1].shares.items()}
            if applied
            else {arm["label"]: 1 / len(latest.arms) for arm in latest.arms}
        )
        views.append(
            ExperimentView(
                in_force=in_force,
                experiment=experiment,
                channel_label=CHANNELS.get(experiment.channel, experiment.channel),
                latest=latest,
                summary=charts.experiment_summary(
                    readouts, winner_label=winner_label, min_sample=experiment.min_sample
                ),
                share_summary=charts.allocation_summary(history),
                intervals_figure=charts.figure_data(charts.experiment_intervals_figure(readouts)),
                best_figure=charts.figure_data(charts.probability_best_figure(readouts)),
                share_figure=charts.figure_data(
                    # The shares in force last until now: the market still delivers by them.
                    charts.allocation_share_figure(history, until=max(latest.at, timezone.now()))
                ),
                approval_id=approval.pk if approval and approval.status == "pending" else None,
            )
        )
    return views


# --- The shares in force ---------------------------------------------------------------------


def variant_label(content_id: int) -> str:
    """How telemetry and the allocation rounds name a variant ("#12")."""
    return f"#{content_id}"


def current_shares(experiment: Experiment | None, labels: list[str]) -> dict[str, float]:
    """The shares in force: the latest applied round's, else an even split."""
    latest = None
    if experiment is not None:
        latest = experiment.rounds.filter(status=RoundStatus.APPLIED).order_by("-number").first()
    if latest is None or not labels:
        return {label: 1 / len(labels) for label in labels} if labels else {}
    shares = {label: float(latest.shares.get(label, 0.0)) for label in labels}
    total = sum(shares.values())
    if total <= 0:
        return {label: 1 / len(labels) for label in labels}
    return {label: share / total for label, share in shares.items()}


def channel_shares(campaign: Campaign, channel: str, labels: list[str]) -> dict[str, float]:
    """The shares the market should deliver a channel's variants by now (the running
    test's, or the concluded one's last)."""
    experiment = (
        Experiment.objects.filter(campaign=campaign, channel=channel)
        .order_by("-started_at")
        .first()
    )
    return current_shares(experiment, labels)
