import random

from django.core.management.base import BaseCommand, CommandError

from agents.domain.market_sim import allocator, check_market, drifted, equal_split, simulate


def _rates(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CommandError(
            f"--arms takes conversion rates separated by commas (e.g. 0.020,0.022), not “{text}”."
        ) from None


class Command(BaseCommand):
    help = (
        "Compare the experiment allocator with an equal split and with the oracle (always "
        "the best arm) on a simulated sandbox market; prints conversions and regret."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--arms", required=True, help="each arm's conversion rate, e.g. 0.020,0.022,0.025"
        )
        parser.add_argument("--horizon", type=int, default=100_000, help="impressions in all")
        parser.add_argument(
            "--batch", type=int, default=1000, help="impressions per allocation round"
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--drift-at",
            type=float,
            default=None,
            metavar="FRACTION",
            help="from this fraction of the horizon on, the best and worst arms swap rates",
        )

    def handle(self, *args, arms, horizon, batch, seed, drift_at, **options):
        rates = _rates(arms)
        try:
            check_market(rates, horizon, batch, drift_at)
        except ValueError as wrong:
            raise CommandError(str(wrong)) from wrong
        # The same seed for both: they meet the same visitors, so the oracle is one.
        ours = simulate(allocator, rates, horizon, batch, random.Random(seed), drift_at)
        flat = simulate(equal_split, rates, horizon, batch, random.Random(seed), drift_at)

        shown = ", ".join(f"{rate:.2%}" for rate in rates)
        self.stdout.write(
            f"Sandbox market: {len(rates)} arms converting at {shown}; {horizon:,} impressions "
            f"in batches of {batch:,}; seed {seed}."
        )
        oracle_shares = [0.0] * len(rates)
        changes_at = horizon if drift_at is None else int(horizon * drift_at)
        oracle_shares[rates.index(max(rates))] += changes_at / horizon
        if drift_at is not None:
            after = drifted(rates)
            oracle_shares[after.index(max(after))] += (horizon - changes_at) / horizon
            self.stdout.write(
                f"From impression {changes_at:,} on, the best and worst arms swap rates."
            )
        self.stdout.write("")
        self.stdout.write(
            f"{'policy':<12} {'conversions':>11} {'% of oracle':>11} {'regret':>7}  "
            "share of impressions per arm"
        )
        for name, conversions, regret, shares in (
            ("allocator", ours.conversions, ours.regret, ours.shares),
            ("equal split", flat.conversions, flat.regret, flat.shares),
            ("oracle", ours.oracle_conversions, 0, oracle_shares),
        ):
            percent = 100 * conversions / ours.oracle_conversions if ours.oracle_conversions else 0
            self.stdout.write(
                f"{name:<12} {conversions:>11,} {percent:>10.1f}% {regret:>7,}  "
                + " / ".join(f"{share:.1%}" for share in shares)
            )
