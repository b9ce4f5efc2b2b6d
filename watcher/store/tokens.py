"""OAuth tokens: one per platform, shared by every poll and every process.

Getting a new one is rationed by the platform, so a process first takes a lease (a committed
row, never a transaction held open across the HTTP request, which would stall every other
writer), fetches, then saves the token and drops its lease in one transaction. Other
processes wait for the saved token; a lease whose holder died simply runs out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from watcher.store.base import Part, transaction
from watcher.store.schema import has_table


@dataclass(frozen=True, slots=True)
class StoredToken:
    """A platform's OAuth token as stored; the secrets stay out of reprs (and so of logs)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: str
    obtained_at: str
    grants: int = 0


@dataclass(frozen=True, slots=True)
class TokenHealth:
    platform: str
    expires_at: str
    grants: int


class Tokens(Part):
    TABLE = "tokens"

    def get(self, platform: str) -> StoredToken | None:
        for row in self.table.rows_where(
            "platform = ?",
            [platform],
            select="access_token, refresh_token, expires_at, obtained_at, grants",
        ):
            return StoredToken(**row)
        return None

    def claim_lease(self, platform: str, holder: str, now: str, until: str) -> bool:
        """Take (or extend) the lease to fetch `platform`'s next token; False while another
        holder's lease runs (until > now)."""
        with transaction(self.db):
            cursor = self.db.execute(
                "INSERT INTO token_leases (platform, holder, until) VALUES (?, ?, ?)"
                " ON CONFLICT(platform) DO UPDATE SET holder = excluded.holder,"
                " until = excluded.until"
                " WHERE token_leases.holder = excluded.holder OR token_leases.until <= ?",
                [platform, holder, until, now],
            )
            return cursor.rowcount == 1

    def release_lease(self, platform: str, holder: str) -> None:
        self.db.execute(
            "DELETE FROM token_leases WHERE platform = ? AND holder = ?", [platform, holder]
        )

    def save(self, platform: str, token: StoredToken, holder: str) -> None:
        """Store a newly granted token (counting the grant) and drop `holder`'s lease."""
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO tokens (platform, access_token, refresh_token, expires_at,"
                " obtained_at, grants) VALUES (?, ?, ?, ?, ?, 1)"
                " ON CONFLICT(platform) DO UPDATE SET access_token = excluded.access_token,"
                " refresh_token = excluded.refresh_token, expires_at = excluded.expires_at,"
                " obtained_at = excluded.obtained_at, grants = tokens.grants + 1",
                [
                    platform,
                    token.access_token,
                    token.refresh_token,
                    token.expires_at,
                    token.obtained_at,
                ],
            )
            self.release_lease(platform, holder)

    # A hold (the `<platform>/hold` row of token_leases) stops 401-driven renewals for a
    # while after a brand-new token was refused too: that refusal is not about the token, and
    # asking again on every poll of every process would spend the platform's token ration.

    def hold_renewals(self, platform: str, until: str) -> None:
        self.db.execute(
            "INSERT INTO token_leases (platform, holder, until) VALUES (?, 'hold', ?)"
            " ON CONFLICT(platform) DO UPDATE SET until = excluded.until",
            [f"{platform}/hold", until],
        )

    def renewals_held_until(self, platform: str, now: str) -> str | None:
        """When a running hold on 401-driven renewals ends; None when there is none."""
        row = self.db.execute(
            "SELECT until FROM token_leases WHERE platform = ? AND until > ?",
            [f"{platform}/hold", now],
        ).fetchone()
        return None if row is None else str(row[0])

    def health(self) -> list[TokenHealth] | None:
        """Each platform's stored token expiry and grant count (never the token itself);
        None without a tokens table, so health reporting never depends on the feature."""
        if not has_table(self.db, "tokens"):
            return None
        rows = self.table.rows_where(select="platform, expires_at, grants", order_by="platform")
        return [TokenHealth(**row) for row in rows]
