"""The active kicks, user bans and IP bans, kept in memory for every login and accept."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from chat_core.errors import ErrorCode, ProtocolError
from chat_srv.store.base import Sanction, SanctionKind

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(text: str) -> IpNetwork:
    """An address or CIDR block as a network (`ValueError` if malformed).

    Host bits are allowed (`10.0.0.7/8` is `10.0.0.0/8`), as administrators type them.
    """
    return ipaddress.ip_network(text.strip(), strict=False)


@dataclass(slots=True)
class Sanctions:
    """Active sanctions by target; expired kicks are dropped as they are met."""

    kicks: dict[str, Sanction]
    bans: dict[str, Sanction]
    ip_bans: dict[IpNetwork, Sanction]

    def __init__(self) -> None:
        self.kicks = {}
        self.bans = {}
        self.ip_bans = {}

    def load(self, sanctions: list[Sanction]) -> None:
        """Replace the picture with the store's active sanctions."""
        self.kicks.clear()
        self.bans.clear()
        self.ip_bans.clear()
        for sanction in sanctions:
            self.add(sanction)

    def add(self, sanction: Sanction) -> None:
        """Remember a new sanction."""
        if sanction.kind is SanctionKind.KICK:
            self.kicks[sanction.target] = sanction
        elif sanction.kind is SanctionKind.BAN:
            self.bans[sanction.target] = sanction
        else:
            self.ip_bans[parse_network(sanction.target)] = sanction

    def lift(self, kind: SanctionKind, target: str) -> None:
        """Forget the sanction of that kind on that target."""
        if kind is SanctionKind.KICK:
            self.kicks.pop(target, None)
        elif kind is SanctionKind.BAN:
            self.bans.pop(target, None)
        else:
            self.ip_bans.pop(parse_network(target), None)

    def active(self, now: int) -> list[Sanction]:
        """Every sanction in force, oldest first."""
        self._expire(now)
        found = [*self.kicks.values(), *self.bans.values(), *self.ip_bans.values()]
        return sorted(found, key=lambda s: (s.created_at, s.id))

    def check_login(self, user_key: str, now: int) -> None:
        """Raise `banned` or `kicked` if the user may not log in now."""
        ban = self.bans.get(user_key)
        if ban is not None:
            raise ProtocolError(ErrorCode.BANNED, "this account is banned", reason=ban.reason)
        self._expire(now)
        kick = self.kicks.get(user_key)
        if kick is not None:
            raise ProtocolError(
                ErrorCode.KICKED,
                "this account is kicked for a while",
                until=kick.until,
                reason=kick.reason,
            )

    def ip_ban(self, ip: str | None) -> Sanction | None:
        """The ban covering this address, if any."""
        if ip is None or not self.ip_bans:
            return None
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # a dual-stack socket's view of an IPv4 client
        for network, sanction in self.ip_bans.items():
            if address.version == network.version and address in network:
                return sanction
        return None

    def _expire(self, now: int) -> None:
        for key, kick in list(self.kicks.items()):
            if kick.until is not None and kick.until <= now:
                del self.kicks[key]
