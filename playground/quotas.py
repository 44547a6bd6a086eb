"""Per-visitor allowances of a public deployment, over a sliding hour: one ledger for what each client has
spent (minutes of live training, uploads and their bytes), so every cap counts the same way."""

from __future__ import annotations

import threading
import time

HOUR_S = 3600.0


class HourlyLedger:
    """client -> the (when, amounts...) of what it spent in the last hour. `spend` checks and records in one
    step under a lock; clients with nothing in the last hour are forgotten, so the table stays as small as the
    last hour's visitors. `clock` is monotonic seconds (replaceable in tests)."""

    def __init__(self, clock=None):
        self.clock = clock or (lambda: time.monotonic())
        self._spent: dict[str, list[tuple]] = {}
        self._lock = threading.Lock()

    def spend(self, who, amounts: tuple, caps: tuple) -> tuple[tuple, float] | None:
        """Record `amounts` for `who` if every running total stays within its cap and return None; else record
        nothing and return (the totals so far, seconds until the oldest entry leaves the hour)."""
        now = self.clock()
        with self._lock:
            for k in [k for k, rows in self._spent.items() if all(now - row[0] > HOUR_S for row in rows)]:
                del self._spent[k]
            rows = [row for row in self._spent.get(who, []) if now - row[0] <= HOUR_S]
            totals = tuple(sum(row[1 + i] for row in rows) for i in range(len(amounts)))
            if any(total + amount > cap + 1e-9 for total, amount, cap in zip(totals, amounts, caps)):
                return totals, (HOUR_S - (now - rows[0][0])) if rows else 0.0
            self._spent[who] = [*rows, (now, *amounts)]
        return None

    def clients(self) -> set:
        with self._lock:
            return set(self._spent)
