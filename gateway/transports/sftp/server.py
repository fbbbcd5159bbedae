"""The SFTP subsystem: avatar, session channel, file-transfer protocol and handles.

Everything a client names goes through :mod:`gateway.transports.sftp.jail` first; host paths
are only ever built from the partner's staging directory plus names we generate (parked
uploads keep the client's name in a side file, :mod:`gateway.parked`), or handed to us by
the mailbox.

A client's file name may hold PHI (a patient's name in a file name is common enough): no log
line here carries one, and a request that fails unexpectedly is logged by exception type and
code location only, never with the exception's text.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import struct
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.conch.avatar import ConchUser
from twisted.conch.ssh import connection
from twisted.conch.ssh.common import getNS
from twisted.conch.ssh.filetransfer import (
    FX_BAD_MESSAGE,
    FX_FAILURE,
    FX_OP_UNSUPPORTED,
    FX_PERMISSION_DENIED,
    FXF_APPEND,
    FXF_CREAT,
    FXF_EXCL,
    FXF_READ,
    FXF_TRUNC,
    FXF_WRITE,
    FileTransferBase,
    FileTransferServer,
    SFTPError,
)
from twisted.conch.ssh.session import SSHSession
from twisted.internet import defer, threads
from twisted.internet.defer import Deferred
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.config import SftpConfig
from gateway.parked import Parked, ParkedDir
from gateway.ports import Audit, Intake, Mailbox, MailboxEntry
from gateway.transports.sftp import jail
from gateway.transports.sftp.jail import Area, VirtualPath

log = Logger()

#: Largest single read we answer (clients cope with short reads).
MAX_READ = 256 * 1024
ONLY_SFTP_MESSAGE = b"This server offers SFTP only (no shell, no commands).\r\n"


@dataclass
class SftpContext:
    """State shared by every connection of one factory."""

    config: SftpConfig
    staging_dir: Path
    intake: Intake
    mailbox: Mailbox
    audit: Audit
    reactor: Any
    accepting: bool = True
    in_flight: set[object] = field(default_factory=set)
    _waiters: list[Deferred[None]] = field(default_factory=list)

    def begin(self, token: object) -> None:
        self.in_flight.add(token)

    def end(self, token: object) -> None:
        self.in_flight.discard(token)
        if not self.in_flight and self._waiters:
            # Next turn: the close's OK status is written (by conch, later in this same
            # callback chain) before a waiting shutdown disconnects the client.
            self.reactor.callLater(0, self._wake)

    def _wake(self) -> None:
        if not self.in_flight:
            waiters, self._waiters = self._waiters, []
            for d in waiters:
                d.callback(None)

    def uploads_done(self) -> Deferred[None]:
        """Fires once no upload is in flight (open for write or being handed to intake)."""
        if not self.in_flight:
            return defer.succeed(None)
        d: Deferred[None] = Deferred()
        self._waiters.append(d)
        return d

    def in_thread(self, f: Callable[..., Any], *args: Any) -> Deferred[Any]:
        return threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), f, *args)


# -- attributes & listings ---------------------------------------------------------------


def _dir_attrs(mode: int = 0o755) -> dict[str, int]:
    now = int(time.time())
    return {"size": 0, "permissions": stat.S_IFDIR | mode, "atime": now, "mtime": now}


def _file_attrs(size: int, mtime: float, mode: int) -> dict[str, int]:
    return {
        "size": size,
        "permissions": stat.S_IFREG | mode,
        "atime": int(mtime),
        "mtime": int(mtime),
    }


def _longname(name: str, attrs: dict[str, int]) -> bytes:
    mode = stat.filemode(attrs["permissions"])
    when = time.strftime("%b %d %H:%M", time.gmtime(attrs.get("mtime", 0)))
    return f"{mode}    1 sftp     sftp     {attrs['size']:>12} {when} {name}".encode()


class Listing:
    """A directory handle: conch iterates it and closes it."""

    def __init__(self, entries: list[tuple[str, dict[str, int]]]) -> None:
        self._entries = [(n.encode("utf-8"), _longname(n, a), a) for n, a in entries]

    def __iter__(self) -> Iterator[tuple[bytes, bytes, dict[str, int]]]:
        return iter(self._entries)

    def close(self) -> None:
        self._entries = []


# -- download throttling -----------------------------------------------------------------


class ReadGate:
    """Bounds read replies waiting in the channel's send buffer (twisted#12139).

    Conch's channel buffers everything past the client's window in one ``bytes`` and
    re-slices it on every window adjust: quadratic when a client (paramiko's default
    prefetch) asks for a whole file at once. A read is answered at once only while fewer than
    ``limit`` earlier replies still wait in that buffer; later ones are parked (costing only
    the request) and answered, in order, when the client's window opens again.

    Replies the client's window admits go straight out, so this never limits the bytes in
    flight on the network (a long fat link keeps its full window); it only bounds what piles
    up behind the window. Measured locally with paramiko's unbounded prefetch on a 50 MB file:
    limit 1-8 ~180 MB/s, 64 ~100 MB/s, 256 ~40 MB/s, no gate ~4 MB/s.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.channel: Any = None
        self._pending: deque[tuple[Deferred[bytes], Callable[[], bytes]]] = deque()
        self._sizes: deque[int] = deque()
        self._total = 0

    def _waiting_replies(self) -> int:
        buffered = len(self.channel.buf) if self.channel is not None else 0
        if buffered == 0:
            self._sizes.clear()
            self._total = 0
            return 0
        while self._sizes and self._total - self._sizes[0] >= buffered:
            self._total -= self._sizes.popleft()
        return len(self._sizes)

    def _sent(self, data: bytes) -> bytes:
        size = len(data) + 13  # SSH_FXP_DATA header
        self._sizes.append(size)
        self._total += size
        return data

    def read(self, produce: Callable[[], bytes]) -> bytes | Deferred[bytes]:
        if not self._pending and self._waiting_replies() < self.limit:
            return self._sent(produce())
        d: Deferred[bytes] = Deferred()
        self._pending.append((d, produce))
        return d

    def drain(self) -> None:
        while self._pending and self._waiting_replies() < self.limit:
            d, produce = self._pending.popleft()
            try:
                data = self._sent(produce())
            except Exception:
                d.errback(Failure())
            else:
                d.callback(data)

    def drop(self) -> None:
        """The channel is gone: forget parked reads (their answers have nowhere to go)."""
        self._pending.clear()


# -- handles -----------------------------------------------------------------------------


class UploadHandle:
    """A file open for writing in ``/inbound``: a hidden temp file in the partner's staging.

    States: open → closing → done | failed, or aborted (connection lost before the intake
    was called). Only a successful close hands the file to intake (or parks it, for a
    temporary name); anything else removes the temp file.
    """

    def __init__(self, handler: SftpHandler, name: str) -> None:
        self.handler = handler
        self.ctx = handler.ctx
        self.name = name
        self.path = handler.staging / f".upload-{secrets.token_hex(8)}"
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.size = 0
        self.state = "open"
        self.error: str | None = None
        self.intake_called = False
        self.opened_at = time.time()
        self.ctx.begin(self)

    @property
    def healthy(self) -> bool:
        """Still open or closing, without an error (a failed upload does not exist)."""
        return self.state in ("open", "closing") and self.error is None

    # ISFTPFile
    def writeChunk(self, offset: int, data: bytes) -> None:
        if self.state != "open" or self.error is not None:
            raise SFTPError(FX_FAILURE, self.error or "file is not open for writing")
        limit = self.ctx.config.max_file_size
        if offset + len(data) > limit:
            self.error = f"file too large: the limit is {limit} bytes"
            raise SFTPError(FX_FAILURE, self.error)
        try:
            os.pwrite(self.fd, data, offset)
        except OSError as exc:
            self.error = "write failed on the server"
            log.warn("SFTP upload write failed: {err}", err=errno.errorcode.get(exc.errno or 0))
            raise SFTPError(FX_FAILURE, self.error) from None
        self.size = max(self.size, offset + len(data))

    def readChunk(self, offset: int, length: int) -> bytes:
        raise jail.denied("file is write-only")

    def getAttrs(self) -> dict[str, int]:
        return _file_attrs(self.size, self.opened_at, 0o600)

    def setAttrs(self, attrs: dict[str, Any]) -> None:
        """Accepted and ignored (clients set times/modes after an upload)."""

    def fsync(self) -> Deferred[None]:
        if self.fd < 0:
            return defer.succeed(None)
        return self.ctx.in_thread(os.fsync, self.fd)

    def close(self) -> Deferred[None] | None:
        if self.state == "done" or self.state == "aborted":
            return None
        if self.state == "failed":
            raise SFTPError(FX_FAILURE, self.error or "upload failed")
        if self.state == "closing":
            raise SFTPError(FX_FAILURE, "close already in progress")
        self.state = "closing"
        if self.error is not None:
            self._discard()
            self.state = "failed"
            raise SFTPError(FX_FAILURE, self.error)
        fd, self.fd = self.fd, -1
        d = self.ctx.in_thread(_fsync_close, fd)
        d.addCallback(self._synced)
        d.addErrback(self._failed)
        return d

    def abort(self) -> None:
        """The connection went away: nothing of this upload may remain or be announced."""
        if self.state == "open":
            self.state = "aborted"
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1
            self._discard()
        elif self.state == "closing" and not self.intake_called:
            self.state = "aborted"  # _synced sees it and discards
        elif self.state == "failed":
            self.state = "aborted"  # already discarded; conch's close() must not raise now

    def _synced(self, _: object) -> Deferred[None] | None:
        if self.state == "aborted":
            self._discard()
            return None
        if jail.is_temporary_name(self.name):
            self.handler.parked.park(self.path, self.name)
            self._finish()
            return None
        self.intake_called = True
        d = self.handler.announce(self.name, self.path, self.size)
        d.addCallback(lambda _: self._finish())
        return d

    def _finish(self) -> None:
        self.state = "done"
        self.handler.recent[self.name] = (self.size, time.time())
        self.ctx.end(self)

    def _failed(self, reason: Failure) -> None:
        self._discard()
        self.state = "failed"
        if isinstance(reason.value, SFTPError):
            self.error = str(reason.value.message)
        else:
            log_unexpected("SFTP upload could not be completed", reason)
            self.error = "upload failed on the server"
        raise SFTPError(FX_FAILURE, self.error)

    def _discard(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.ctx.end(self)


def _fsync_close(fd: int) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DownloadHandle:
    """A file of ``/outbound`` open for reading (the mailbox's stored bytes)."""

    def __init__(self, handler: SftpHandler, name: str, path: Path) -> None:
        self.handler = handler
        self.name = name
        self.fd = os.open(path, os.O_RDONLY)
        self.sent = 0

    def readChunk(self, offset: int, length: int) -> bytes | Deferred[bytes]:
        fd = self.fd
        length = min(length, MAX_READ)

        def produce() -> bytes:
            if fd < 0 or self.fd < 0:
                raise EOFError()
            data = os.pread(fd, length, offset)
            self.sent += len(data)
            return data

        return self.handler.server.gate.read(produce)

    def writeChunk(self, offset: int, data: bytes) -> None:
        raise jail.denied("/outbound is read-only")

    def getAttrs(self) -> dict[str, int]:
        st = os.fstat(self.fd)
        return _file_attrs(st.st_size, st.st_mtime, 0o440)

    def setAttrs(self, attrs: dict[str, Any]) -> None:
        raise jail.denied("/outbound is read-only")

    def fsync(self) -> None:
        return None

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
            if self.sent:
                self.handler.ctx.audit(
                    "sftp.download",
                    partner=self.handler.partner_id,
                    username=self.handler.username,
                    name=self.name,
                    bytes=self.sent,
                )

    def abort(self) -> None:
        self.close()


# -- the ISFTPServer implementation --------------------------------------------------------


class SftpHandler:
    """One SFTP session of one partner: the virtual tree of :mod:`jail` over staging+mailbox."""

    def __init__(self, avatar: SftpAvatar, server: GatewayFileTransferServer) -> None:
        self.avatar = avatar
        self.server = server
        self.ctx = avatar.ctx
        self.partner_id = avatar.partner_id
        self.username = avatar.username
        self.staging = avatar.staging
        self.recent = avatar.recent

    @property
    def parked(self) -> ParkedDir:
        return ParkedDir(self.staging / "parked")

    def find_parked(self, name: str) -> Parked:
        entry = self.parked.find(name)
        if entry is None:
            raise jail.not_found()
        return entry

    def announce(self, name: str, path: Path, size: int) -> Deferred[None]:
        """Hand a complete upload to intake; fail with a clear status if it refuses."""
        d = self.ctx.intake.accept_upload(self.partner_id, "sftp", name, path)

        def ok(file_id: str) -> None:
            self.ctx.audit(
                "sftp.upload",
                partner=self.partner_id,
                username=self.username,
                name=name,
                size=size,
                file_id=file_id,
            )

        def refused(reason: Failure) -> None:
            log.warn(
                "intake refused an SFTP upload for partner {partner}: {error}",
                partner=self.partner_id,
                error=reason.getErrorMessage(),
            )
            raise SFTPError(FX_FAILURE, "upload not accepted by the gateway; please retry")

        return d.addCallbacks(ok, refused)

    # ISFTPServer
    def gotVersion(self, version: int, ext: dict[bytes, bytes]) -> dict[bytes, bytes]:
        return {b"posix-rename@openssh.com": b"1", b"fsync@openssh.com": b"1"}

    def openFile(self, filename: bytes, flags: int, attrs: dict[str, Any]) -> Any:
        writing = bool(flags & (FXF_WRITE | FXF_APPEND | FXF_CREAT | FXF_TRUNC | FXF_EXCL))
        if writing and len(jail.normalise(filename)) == 1:
            raise jail.denied("uploads go to /inbound")  # a new file directly under /
        vpath = jail.resolve(filename)
        if vpath.is_dir:
            raise jail.denied("is a directory")
        assert vpath.name is not None
        if vpath.area is Area.INBOUND:
            if flags & FXF_READ or not flags & FXF_WRITE:
                raise jail.denied("/inbound is write-only")
            if flags & FXF_APPEND:
                raise SFTPError(FX_OP_UNSUPPORTED, "append/resume is not supported")
            if not self.ctx.accepting:
                raise SFTPError(FX_FAILURE, "server is shutting down; try again later")
            return UploadHandle(self, vpath.name)
        if writing:
            raise jail.denied("/outbound is read-only")
        name = vpath.name
        d = self.ctx.mailbox.open_outbound(self.partner_id, name)

        def opened(path: Path | None) -> DownloadHandle:
            if path is None:
                raise jail.not_found()
            return DownloadHandle(self, name, path)

        return d.addCallback(opened)

    def removeFile(self, filename: bytes) -> Any:
        vpath = jail.resolve(filename)
        if vpath.is_dir or vpath.area is Area.ROOT:
            raise jail.denied("not a file")
        assert vpath.name is not None
        if vpath.area is Area.OUTBOUND:
            d = self.ctx.mailbox.pick_up(self.partner_id, vpath.name)

            def picked(found: bool) -> None:
                if not found:
                    raise jail.not_found()

            return d.addCallback(picked)
        self.parked.remove(self.find_parked(vpath.name))
        return None

    def renameFile(self, oldpath: bytes, newpath: bytes) -> Any:
        old, new = jail.resolve(oldpath), jail.resolve(newpath)
        if old.area is not Area.INBOUND or new.area is not Area.INBOUND:
            raise jail.denied("rename is only possible inside /inbound")
        if old.name is None or new.name is None:
            raise jail.denied("not a file")
        parked = self.parked
        entry = self.find_parked(old.name)
        if jail.is_temporary_name(new.name):
            parked.rename(entry, new.name)
            return None
        if not self.ctx.accepting:
            raise SFTPError(FX_FAILURE, "server is shutting down; try again later")
        temp = self.staging / f".upload-{secrets.token_hex(8)}"
        parked.take(entry, temp)
        size = temp.stat().st_size
        token = object()
        self.ctx.begin(token)
        name = new.name
        d = self.announce(name, temp, size)

        def done(result: object) -> object:
            self.ctx.end(token)
            if isinstance(result, Failure):
                if temp.exists():
                    os.replace(temp, entry.path)  # keep it parked: the client may retry
            else:
                parked.forget(entry)
                self.recent[name] = (size, time.time())
            return result

        return d.addBoth(done)

    def makeDirectory(self, path: bytes, attrs: dict[str, Any]) -> None:
        raise jail.denied("creating directories is not allowed")

    def removeDirectory(self, path: bytes) -> None:
        raise jail.denied("removing directories is not allowed")

    def openDirectory(self, path: bytes) -> Any:
        vpath = jail.resolve(path)
        if not vpath.is_dir:
            raise OSError(errno.ENOTDIR, "not a directory")
        if vpath.area is Area.ROOT:
            return Listing([(jail.INBOUND, _dir_attrs(0o730)), (jail.OUTBOUND, _dir_attrs(0o550))])
        if vpath.area is Area.INBOUND:
            return Listing(self._parked())
        d = self.ctx.mailbox.list_outbound(self.partner_id)

        def listed(entries: list[MailboxEntry]) -> Listing:
            return Listing([(e.name, _file_attrs(e.size, e.created_at, 0o440)) for e in entries])

        return d.addCallback(listed)

    def _parked(self) -> list[tuple[str, dict[str, int]]]:
        out = []
        for entry in sorted(self.parked.entries(), key=lambda e: e.name):
            try:
                st = os.stat(entry.path)
            except FileNotFoundError:
                continue
            out.append((entry.name, _file_attrs(st.st_size, st.st_mtime, 0o600)))
        return out

    def getAttrs(self, path: bytes, followLinks: bool) -> Any:
        vpath = jail.resolve(path)
        if vpath.area is Area.ROOT:
            return _dir_attrs(0o755)
        if vpath.name is None:
            return _dir_attrs(0o730 if vpath.area is Area.INBOUND else 0o550)
        name = vpath.name
        if vpath.area is Area.INBOUND:
            return self._inbound_attrs(name)
        d = self.ctx.mailbox.list_outbound(self.partner_id)

        def found(entries: list[MailboxEntry]) -> dict[str, int]:
            for e in entries:
                if e.name == name:
                    return _file_attrs(e.size, e.created_at, 0o440)
            raise jail.not_found()

        return d.addCallback(found)

    def _inbound_attrs(self, name: str) -> dict[str, int]:
        entry = self.parked.find(name)
        if entry is not None:
            try:
                st = os.stat(entry.path)
            except FileNotFoundError:
                pass
            else:
                return _file_attrs(st.st_size, st.st_mtime, 0o600)
        for handle in self.server.openFiles.values():
            if isinstance(handle, UploadHandle) and handle.name == name and handle.healthy:
                return handle.getAttrs()
        if name in self.recent:
            size, when = self.recent[name]
            return _file_attrs(size, when, 0o600)
        raise jail.not_found()

    def setAttrs(self, path: bytes, attrs: dict[str, Any]) -> None:
        vpath = jail.resolve(path)
        if vpath.area is not Area.INBOUND or vpath.name is None:
            raise jail.denied("read-only")
        self._inbound_attrs(vpath.name)  # exists? then accept and ignore

    def readLink(self, path: bytes) -> bytes:
        jail.resolve(path)
        raise OSError(errno.EINVAL, "not a symbolic link")

    def makeLink(self, linkPath: bytes, targetPath: bytes) -> None:
        raise jail.denied("symbolic links are not allowed")

    def realPath(self, path: bytes) -> bytes:
        return jail.real_path(path).encode("utf-8")

    def extendedRequest(self, extendedName: bytes, extendedData: bytes) -> bytes:
        raise NotImplementedError("unsupported extension")


# -- protocol, channel, avatar -------------------------------------------------------------

#: Names the jail refuses → SFTP status: malformed (NUL, not UTF-8) or not allowed.
_NAME_ERRORS = {
    errno.EINVAL: FX_BAD_MESSAGE,
    errno.EILSEQ: FX_BAD_MESSAGE,
    errno.ENAMETOOLONG: FX_PERMISSION_DENIED,
}


def log_unexpected(what: str, reason: Failure) -> None:
    """Log an unexpected error by type and code location only: its text may hold a client's
    file name (possibly PHI), so neither the message nor the traceback's text is logged."""
    tb = reason.getTracebackObject()
    frames = traceback.extract_tb(tb)[-3:] if tb is not None else []
    where = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
    log.error("{what}: {kind} at {where}", what=what, kind=type(reason.value).__name__, where=where)


class GatewayFileTransferServer(FileTransferServer):
    """Conch's SFTP server with our handler, quiet dispatch, status-answered extensions,
    abort-before-close on connection loss and bounded read replies."""

    def __init__(self, data: bytes | None = None, avatar: SftpAvatar | None = None) -> None:
        FileTransferBase.__init__(self)
        assert avatar is not None
        self.gate = ReadGate(avatar.ctx.config.max_outstanding_reads)
        self.client: Any = SftpHandler(avatar, self)
        self.openFiles: dict[bytes, Any] = {}
        self.openDirs: dict[bytes, Any] = {}

    def connectionMade(self) -> None:
        session = getattr(self.transport, "session", None)
        if isinstance(session, SftpSession):
            self.gate.channel = session
            session.window_listener = self.gate.drain

    def dataReceived(self, data: bytes) -> None:
        # FileTransferBase.dataReceived without its per-packet info log (noise + cost).
        self.buf += data
        while len(self.buf) >= 9:
            length, kind, _req_id = struct.unpack("!LBL", self.buf[:9])
            if len(self.buf) < 4 + length:
                return
            packet, self.buf = self.buf[5 : 4 + length], self.buf[4 + length :]
            name = self.packetTypes.get(kind)
            handler = getattr(self, f"packet_{name}", None) if name else None
            if handler is None:
                self._sendStatus(packet[:4], FX_OP_UNSUPPORTED, b"unsupported request")
                continue
            try:
                handler(packet)
            except Exception:
                log_unexpected(f"SFTP request {name} failed", Failure())
                self._sendStatus(packet[:4], FX_BAD_MESSAGE, b"bad request")

    def _ebStatus(self, reason: Failure, requestId: bytes, msg: bytes = b"request failed") -> None:
        """Conch's mapping of errors to statuses, without its tracebacks: a name the jail
        refuses gets a clear status; anything unexpected is logged without its text (which
        may carry a file name)."""
        exc = reason.value
        if isinstance(exc, jail.PathError) and exc.errno in _NAME_ERRORS:
            text = str(exc.strerror or "file name not allowed").encode("utf-8", "replace")
            self._sendStatus(requestId, _NAME_ERRORS[exc.errno], text)
            return
        known = (errno.ENOENT, errno.EACCES, errno.EEXIST)
        if isinstance(exc, OSError) and exc.errno not in known:
            log.warn(
                "SFTP request failed: {error}",
                error=errno.errorcode.get(exc.errno or 0, type(exc).__name__),
            )
            self._sendStatus(requestId, FX_FAILURE, msg)
            return
        if not isinstance(exc, OSError | EOFError | NotImplementedError | SFTPError):
            log_unexpected("SFTP request failed", reason)
            self._sendStatus(requestId, FX_FAILURE, msg)
            return
        super()._ebStatus(reason, requestId, msg)

    def packet_EXTENDED(self, data: bytes) -> None:
        request_id, rest = data[:4], data[4:]
        name, rest = getNS(rest)
        d: Deferred[Any]
        if name == b"posix-rename@openssh.com":
            old, new, _ = getNS(rest, 2)
            d = defer.maybeDeferred(self.client.renameFile, old, new)
        elif name == b"fsync@openssh.com":
            handle, _ = getNS(rest)
            file_obj = self.openFiles.get(handle)
            if file_obj is None:
                d = defer.fail(OSError(errno.ENOENT, "no such handle"))
            else:
                d = defer.maybeDeferred(file_obj.fsync)
        else:
            self._sendStatus(request_id, FX_OP_UNSUPPORTED, b"unsupported extension")
            return
        d.addCallback(self._cbStatus, request_id, b"ok")
        d.addErrback(self._ebStatus, request_id, name + b" failed")

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        for file_obj in list(self.openFiles.values()):
            abort = getattr(file_obj, "abort", None)
            if abort is not None:
                abort()
        self.gate.drop()
        super().connectionLost(reason)


class SftpSession(SSHSession):
    """A session channel that only runs the ``sftp`` subsystem."""

    window_listener: Callable[[], None] | None = None

    def __init__(
        self,
        remoteWindow: int = 0,
        remoteMaxPacket: int = 0,
        data: bytes | None = None,
        avatar: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            localWindow=avatar.ctx.config.window_size,
            remoteWindow=remoteWindow,
            remoteMaxPacket=remoteMaxPacket,
            data=data,
            avatar=avatar,
        )

    def request_subsystem(self, data: bytes) -> int:
        name, _ = getNS(data)
        if name != b"sftp":
            self._refuse()
            return 0
        return super().request_subsystem(data)

    def request_shell(self, data: bytes) -> int:
        self._refuse()
        return 1

    def request_exec(self, data: bytes) -> int:
        self._refuse()
        return 1

    def request_pty_req(self, data: bytes) -> int:
        return 0

    def request_env(self, data: bytes) -> int:
        return 0

    def request_window_change(self, data: bytes) -> int:
        return 0

    def _refuse(self) -> None:
        self.avatar.ctx.reactor.callLater(0, self._send_refusal)  # type: ignore[union-attr]

    def _send_refusal(self) -> None:
        if self.closing or self.conn is None:
            return
        self.writeExtended(connection.EXTENDED_DATA_STDERR, ONLY_SFTP_MESSAGE)
        self.conn.sendRequest(self, b"exit-status", struct.pack(">L", 1))
        self.conn.sendEOF(self)
        self.loseConnection()

    def addWindowBytes(self, data: int) -> None:
        super().addWindowBytes(data)
        if self.window_listener is not None:
            self.window_listener()


class SftpAvatar(ConchUser):
    """A logged-in partner user; holds what the session needs (not the whole profile, so a
    profile reload neither breaks nor silently changes an open session)."""

    def __init__(self, ctx: SftpContext, partner_id: str, username: str, address: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.partner_id = partner_id
        self.username = username
        self.address = address
        self.staging = ctx.staging_dir / partner_id
        (self.staging / "parked").mkdir(parents=True, exist_ok=True, mode=0o700)
        self.recent: dict[str, tuple[int, float]] = {}
        """Uploads this connection completed: stat() answers them (paramiko confirms a put)."""
        self.channelLookup[b"session"] = SftpSession
        self.subsystemLookup[b"sftp"] = GatewayFileTransferServer

    def logout(self) -> None:
        self.recent.clear()


__all__ = [
    "GatewayFileTransferServer",
    "ReadGate",
    "SftpAvatar",
    "SftpContext",
    "SftpHandler",
    "SftpSession",
    "VirtualPath",
]
