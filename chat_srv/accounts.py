"""The account rules: registering, logging in, and a user's connections coming and going.

The limits on the way in live here: login attempts counted when they start, with
a budget of their own for an owner at an address they have logged in from
(docs/security.md, "Failed logins"); registrations per address; names that hide
characters, look like a name taken, or are reserved. Passwords are checked in the
hashing pool (`chat_srv.passwords`), whose refusals pass as `rate_limited`.

Every login's result carries a session token (version 2): 256 random bits that log
the user in again with no password to hash, so a restart's crowd of clients is back
at once. The store keeps only its SHA-256 digest (docs/security.md, "Session tokens").
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import math
import secrets

from chat_core import messages as m
from chat_core.errors import ErrorCode, ProtocolError
from chat_core.names import name_key
from chat_srv.clock import Clock
from chat_srv.config import Registration, ServerConfig
from chat_srv.hub import Hub, Peer
from chat_srv.limits import AttemptLimit, SlidingWindow, TokenBucket
from chat_srv.lookalikes import LookalikeIndex, has_invisible
from chat_srv.passwords import PasswordHasher
from chat_srv.picture import DEFAULT_ROOM, NO_PEERS, Client, Picture, User, logged
from chat_srv.presence import PresenceBatcher
from chat_srv.store.base import Conflict, DmUnread, MembershipState, Store

log = logging.getLogger(__name__)

_FAILURE_WINDOW = 60.0  # seconds over which login attempts are counted
_REGISTRATION_WINDOW = 3600.0  # seconds over which registrations are counted
_SOON = 0.05  # seconds: the least a login held back by others in flight is told to wait
TOKEN_BYTES = 32  # random bytes in a session token: 256 bits


def token_digest(token: str) -> str:
    """What the store keeps of a session token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Accounts(Picture):
    """The rules of `register`, `login` and `logout`, over the shared picture."""

    def __init__(
        self, store: Store, hub: Hub, hasher: PasswordHasher, config: ServerConfig, clock: Clock
    ) -> None:
        super().__init__(store, hub, config, clock)
        self.hasher = hasher
        # Login attempts: the failed ones and those being checked (see `_login`).
        self._user_attempts = AttemptLimit(config.login_failures_per_user, _FAILURE_WINDOW)
        self._ip_attempts = AttemptLimit(config.login_failures_per_ip, _FAILURE_WINDOW)
        self._registrations = SlidingWindow(config.registrations_per_ip, _REGISTRATION_WINDOW)
        self._reserved = LookalikeIndex(config.reserved_names)
        self._token_lifetime = config.token_days * 86_400_000  # ms
        self.presence = PresenceBatcher(hub, config.presence_window)

    async def _register(self, client: Client, request: m.Register) -> m.Reply:
        self._check_not_logged_in(client)
        if self.config.registration is Registration.CLOSED:
            raise ProtocolError(
                ErrorCode.FORBIDDEN,
                "registration is closed on this server: ask its administrator for an account",
            )
        # The name's own problem is told before the address's (create_account checks
        # it again, for the console, and for a name claimed meanwhile).
        self.check_new_user_name(request.user)
        ip = client.ip
        counted = ip if ip is not None and self._limits_address(ip) else None
        now = self.clock.monotonic()
        if counted is not None:
            wait = self._registrations.retry_after(counted, now)
            if wait > 0:
                self.metrics.limited_registrations.inc()
                raise ProtocolError(
                    ErrorCode.RATE_LIMITED,
                    "too many new accounts from your address; try again later",
                    retry_after_ms=math.ceil(wait * 1000),
                )
            self._registrations.add(counted, now)  # from the start: those in flight count
        try:
            user = await self.create_account(request.user, request.password, ip)
        except BaseException:
            if counted is not None:
                self._registrations.discard(counted, now)  # no account was made
            raise
        log.info("registered %s from %s", user.name, ip)
        self.metrics.registrations.inc()
        reply = await self._logged_in(client, request, user)
        self.announce_account(user)
        return reply

    def announce_account(self, user: User) -> None:
        """Tell Général that a new account joined it, once the current reply is out.

        After the reply, so the new user's connection hears its own join as a
        logged-in client, like every other member.
        """
        general = self.rooms.get(name_key(DEFAULT_ROOM))
        if general is not None and user.id in general.members:
            event = m.encode(m.Member(room=general.name, user=user.name, joined=True))
            asyncio.get_running_loop().call_soon(self.hub.to_room, general.id, event)

    def check_new_user_name(self, name: str, *, reserved_ok: bool = False) -> None:
        """Raise unless `name` may be registered now (the rule is in docs/protocol.md).

        Invisible characters make it `invalid_name`; a name taken, one that looks
        like a name taken (UTS #39), or a reserved one (unless `reserved_ok`: the
        console) is `user_exists`.
        """
        if has_invisible(name):
            raise ProtocolError(
                ErrorCode.INVALID_NAME, "a user name cannot hold invisible or filler characters"
            )
        if name_key(name) in self.users:
            raise ProtocolError(ErrorCode.USER_EXISTS, f"{name} is taken")
        clash = self.user_lookalikes.clash(name)
        if clash is not None:
            raise ProtocolError(
                ErrorCode.USER_EXISTS, f"{name} looks too much like {clash}, which is taken"
            )
        if not reserved_ok and self._reserved.clash(name) is not None:
            raise ProtocolError(ErrorCode.USER_EXISTS, f"{name} is reserved")

    async def create_account(
        self, name: str, password: str, ip: str | None, *, reserved_ok: bool = False
    ) -> User:
        """Create an account (a member of Général) and remember it.

        Raises:
            ProtocolError: the name may not be registered (`check_new_user_name`).
            HasherBusy: the password cannot be hashed now.
            StoreUnavailable: the store failed; nothing was created.
        """
        self.check_new_user_name(name, reserved_ok=reserved_ok)
        # Claimed while it is created: a look-alike registering at the same time waits
        # for nothing and is refused.
        self.user_lookalikes.add(name)
        try:
            password_hash = await self.hasher.hash(password)
            record = await self.store.create_user(name, password_hash, self.clock.now_ms(), ip)
        except Conflict as conflict:
            # Taken meanwhile, on another node of a cluster (its store refused it).
            self.user_lookalikes.remove(name)
            holder = conflict.lookalike_of
            if holder is not None:
                raise ProtocolError(
                    ErrorCode.USER_EXISTS, f"{name} looks too much like {holder}, which is taken"
                ) from None
            raise ProtocolError(ErrorCode.USER_EXISTS, f"{name} is taken") from None
        except BaseException:
            self.user_lookalikes.remove(name)
            raise
        user = self._remember_user(record.id, record.name)
        general = self.rooms.get(name_key(DEFAULT_ROOM))
        if general is not None:
            now = self.clock.now_ms()
            await self.store.set_membership(user.id, general.id, MembershipState.MEMBER, now)
            self._set_member_state(user.id, general.id, MembershipState.MEMBER)
        if self.cluster is not None:
            self.cluster.account_created(
                user.id, user.name, user.role, general.id if general is not None else None
            )
        return user

    def _limits_address(self, ip: str) -> bool:
        """Whether per-address limits apply to `ip` (loopback only with limit_loopback)."""
        if self.config.limit_loopback:
            return True
        try:
            return not ipaddress.ip_address(ip).is_loopback
        except ValueError:
            return True

    async def _login(self, client: Client, request: m.Login) -> m.Reply:
        self._check_not_logged_in(client)
        if request.token is not None:
            return await self._token_login(client, request, request.token)
        password = request.password
        assert password is not None  # `Login.check`: one of the two
        record = await self.store.get_user(request.user)
        user_key = name_key(request.user)
        ip = client.ip
        known_here = (
            record is not None and ip is not None and await self.store.known_address(record.id, ip)
        )
        # The budgets this attempt spends (docs/security.md, "Failed logins"): at an
        # address the owner has logged in from, one of that address's own; anywhere
        # else, the account's budget for strangers and the address's.
        budgets = [(self._user_attempts, f"{user_key} {ip}" if known_here else user_key)]
        if ip is not None and not known_here:
            budgets.append((self._ip_attempts, ip))
        now = self.clock.monotonic()
        soon = max(_SOON, self.hasher.job_seconds)
        wait = max(limit.retry_after(key, now, soon) for limit, key in budgets)
        if wait > 0:
            self.metrics.limited_logins.inc()
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                "too many login attempts; wait a little",
                retry_after_ms=math.ceil(wait * 1000),
            )
        for limit, key in budgets:
            limit.start(key)
        failed = False  # a check the pool refused is no attempt
        try:
            known_hash = record.password_hash if record is not None else None
            failed = not await self.hasher.verify(known_hash, password)
        finally:
            for limit, key in budgets:
                limit.finish(key, self.clock.monotonic(), failed=failed)
        if failed:
            log.info("failed login for %r from %s", request.user, ip)
            self.metrics.login_failures.inc()
            raise ProtocolError(ErrorCode.AUTH_FAILED, "wrong user name or password")
        assert record is not None
        self._user_attempts.forget(budgets[0][1])
        self.sanctions.check_login(user_key, self.clock.now_ms())
        if self.hasher.needs_rehash(record.password_hash):
            await self.store.set_password_hash(record.id, await self.hasher.hash(password))
        user = self.users_by_id.get(record.id) or self._remember_user(
            record.id, record.name, record.role
        )
        return await self._logged_in(client, request, user)

    async def _token_login(self, client: Client, request: m.Login, token: str) -> m.Reply:
        """Log in with a session token: no password, no hashing."""
        now = self.clock.now_ms()
        user_id = await self.store.session_user(token_digest(token), now, self._token_lifetime)
        user = self.users_by_id.get(user_id) if user_id is not None else None
        if user is None and user_id is not None:
            # Registered on another node a moment ago, its news not here yet: the
            # store is the rule, as for a password login.
            record = await self.store.get_user(request.user)
            if record is not None and record.id == user_id:
                user = self._remember_user(record.id, record.name, record.role)
        if user is None or name_key(user.name) != name_key(request.user):
            log.info("failed token login for %r from %s", request.user, client.ip)
            self.metrics.login_failures.inc()
            raise ProtocolError(
                ErrorCode.AUTH_FAILED, "unknown, expired or revoked token: log in with the password"
            )
        self.sanctions.check_login(name_key(user.name), now)
        return await self._logged_in(client, request, user, token=token)

    async def _logged_in(
        self,
        client: Client,
        request: m.Login | m.Register,
        user: User,
        *,
        token: str | None = None,
    ) -> m.Reply:
        """Attach a connection whose login succeeded; the result, with its token (a
        new one unless the login used one)."""
        now = self.clock.now_ms()
        await self.store.record_login(user.id, client.ip, now)
        if token is None:
            token = secrets.token_urlsafe(TOKEN_BYTES)
            await self.store.add_session(token_digest(token), user.id, now, self._token_lifetime)
        if client.user is not None:  # a second login raced this one on the same connection
            raise ProtocolError(ErrorCode.ALREADY_LOGGED_IN, "already logged in")
        if user.dm_peers is None:  # from now on, new conversations are added to it
            user.dm_peers = NO_PEERS
        positions = await self.store.room_unread(user.id)
        conversations = await self.store.dm_unread(user.id)
        for conversation in conversations:
            user.add_dm_peer(conversation.peer_id)
        dms = [self._dm_info(d) for d in conversations]
        # A kick or ban may have landed while this login waited on the store.
        self.sanctions.check_login(name_key(user.name), self.clock.now_ms())
        if not client.closed:  # gone while the login waited: nothing to attach
            client.user = user
            client.session = token_digest(token)
            client.protocol = request.protocol or 1
            config = self.config
            # `request_rate` 0 turns request limiting off altogether (benchmarks).
            if user.bucket is None and config.request_rate > 0 and config.user_request_rate > 0:
                started = asyncio.get_running_loop().time()  # the connections' clock
                user.bucket = TokenBucket(
                    config.user_request_rate, config.user_request_burst, started
                )
            elsewhere = user.id in self.online_elsewhere
            if self.hub.attach(client, user.id, user.rooms):
                if self.cluster is not None:
                    self.cluster.presence(user.id, True)
                if not elsewhere:  # in a cluster, online already if on another node
                    self._announce_presence(user, online=True)
            log.info("login %s from %s", user.name, client.ip)
            self.metrics.logins.inc()
        return m.LoginOk(
            id=request.id,
            user=user.name,
            rooms=self._room_infos(user, positions),
            dms=dms,
            server_time=self.clock.now_ms(),
            role=user.role,
            last_change_id=self.last_change_id,
            token=token,
        )

    def _dm_info(self, position: DmUnread) -> m.DmInfo:
        peer = self.users_by_id[position.peer_id]
        return m.DmInfo(
            peer=position.peer,
            last_msg_id=position.last_msg_id,
            unread=position.unread,
            away=peer.away,
            text=peer.away_text,
        )

    async def _logout(self, client: Client, request: m.Logout) -> m.Reply:
        user = logged(client)
        if request.all:
            await self.store.revoke_sessions(user.id)
        elif client.session is not None:
            await self.store.revoke_sessions(user.id, client.session)
        client.close_after_reply()
        return m.Ok(id=request.id)

    def disconnected(self, client: Client) -> None:
        """A connection closed: take it out of the hub, announce the user gone if last."""
        user = client.user
        if user is None:
            return
        client.user = None
        if self.hub.detach(client, user.id, user.rooms):
            user.bucket = None
            if self.cluster is not None:
                self.cluster.presence(user.id, False)
            if user.id not in self.online_elsewhere:
                self.went_offline(user)

    def went_offline(self, user: User) -> None:
        """The user's last connection closed: here, and on every other node as far as
        this one knows (called once per going, on each node)."""
        self._announce_presence(user, online=False)

    def _announce_presence(self, user: User, *, online: bool) -> None:
        """Tell those who share a room with the user: version 1 now, one event per
        user; version 2 at the batcher's next flush, merged."""
        self.presence.note(user.name, online, user.rooms)
        peers: set[Peer] = set()
        for room_id in user.rooms:
            peers.update(self.hub.legacy_room_connections(room_id))
        peers.difference_update(self.hub.user_connections(user.id))
        if peers:
            self.hub.to_peers(peers, m.encode(m.Presence(user=user.name, online=online)))
