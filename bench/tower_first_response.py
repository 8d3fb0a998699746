"""Tower first response: server time of GET / with 1,000 and 10,000 campaigns.

Target (DESIGN.md §6): ≤ 50 ms median server time; query count independent of N.
Measured in-process with Django's test client against PostgreSQL: the whole request —
middleware, session, permission-scoped queries, template rendering — without the network.

    .venv/bin/python bench/tower_first_response.py [--sizes 1000,10000] [--requests 40]
"""

import argparse
import time

from common import describe, seed_campaigns, setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    setup_django()

    from django.db import connection
    from django.test import Client

    for n in [int(s) for s in args.sizes.split(",")]:
        people = seed_campaigns(n)
        for who in ("manager", "admin"):
            client = Client()
            client.force_login(people[who])
            client.get("/")  # warm: templates compiled, pool filled
            queries: list[str] = []

            def count(run, sql, *args, queries=queries):
                queries.append(sql)
                return run(sql, *args)

            # TRICKY: a pooled connection resets Django's query log, so count at the cursor.
            with connection.execute_wrapper(count):
                response = client.get("/")
            if response.status_code != 200:
                raise SystemExit(f"GET / answered {response.status_code}")
            timings = []
            for _ in range(args.requests):
                start = time.perf_counter()
                client.get("/")
                timings.append((time.perf_counter() - start) * 1000)
            print(
                f"tower GET /  campaigns={n:>6}  as {who:<7}  queries={len(queries):>2}  "
                f"{describe(timings)}"
            )


if __name__ == "__main__":
    main()
