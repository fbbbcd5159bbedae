#!/usr/bin/env python3
"""Replay the attack run's cases against a gateway daemon on loopback and say what it answered.

    .venv/bin/python scripts/attack_replay.py [--cases bomb,des3,slots,mdn,diskfull,ssh]
                                              [--bomb-mib 256] [--hold 15]
                                              [--login-timeout 10]

Starts its own daemon (like tests/e2e: a temporary data directory, ports 0 on 127.0.0.1; the
demo partners) and runs, one after the other:

* ``bomb``     AS2 messages encrypted (``openssl cms``) to the demo clearinghouse certificate
               holding CompressedData(CompressedData(N MiB of zeros)) or one layer, unsigned
               (expected: ``insufficient-message-security``, nothing inflated) and signed by
               the demo partner (expected: ``decompression-failed`` — a second layer, or one
               layer past ``[http] max_body``);
* ``des3``     a signed message encrypted with ``openssl cms -des3`` (expected:
               ``decryption-failed``) and the same with ``-aes256`` (expected: processed);
* ``slots``    41 unauthenticated ``POST /as2`` that announce 1,000,000 bytes and trickle, then
               a partner's ``POST /api/v1/files`` and ``POST /as2`` (expected: every stranger
               answered from its headers, the partner's upload ``202``); then 6 tricklers that
               know a partner's AS2 name (expected: 4 held — the per-address cap — and 2
               ``429``; the 4 answered ``408`` once a 10 s rate window has passed);
* ``mdn``      40 bytes of junk "from" DEMOBILLING asking for an asynchronous MDN at a loopback
               URL of ours (``/internal/admin?x=1``): does the gateway POST there? (expected:
               the error MDN in the response, nothing POSTed);
* ``diskfull`` (root only, else skipped) a second daemon on a 24 MiB tmpfs: uploads over HTTP
               and SFTP onto the full disk, ``/readyz``, and what happens once space returns;
* ``ssh``      20 wrong passwords on one SSH connection (paramiko re-requests ``ssh-userauth``
               each time), the key login afterwards, a connection that never authenticates
               (the daemon runs with ``login_timeout = --login-timeout``, default 10 s, so
               ``--hold`` can show it closed), how many pre-login connections the server holds
               at once, and a spray across user names from 127.0.0.2 (address ban).

Per case it prints the gateway's answers and the daemon's peak RSS during the case (VmHWM from
/proc/<pid>/status, reset before each case through /proc/<pid>/clear_refs). Everything is
bounded in count and time and stays on 127.0.0.1. It reports what it sees — a case that shows a
defect is not an error of the script; the exit status is 0 unless the script itself failed.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import paramiko
from asn1crypto import cms as asn1_cms

ROOT = Path(__file__).resolve().parent.parent
AS2_DIR = ROOT / "config" / "demo" / "as2"
KEYS = ROOT / "config" / "demo" / "keys"
TOKEN = "demo-billing-1.k9k2kjt6Rsvl5ePzReykgqATs0i0yZZUciJFxmedQ1M"
CASES = ("bomb", "des3", "slots", "mdn", "diskfull", "ssh")


# the daemon -------------------------------------------------------------------------------
def replay_config(work: Path, login_timeout: float) -> Path:
    """The demo config with a short SFTP login timeout, in ``work/config/`` (relative paths
    resolve against ``work``: the demo partners and keys are linked there)."""
    (work / "config").mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        (work / "partners").symlink_to(ROOT / "partners")
    with suppress(FileExistsError):
        (work / "config" / "demo").symlink_to(ROOT / "config" / "demo")
    text = (ROOT / "config" / "gateway.toml").read_text()
    lines = [
        f"login_timeout = {login_timeout}" if line.startswith("login_timeout") else line
        for line in text.splitlines()
    ]
    target = work / "config" / "gateway.toml"
    target.write_text("\n".join(lines) + "\n")
    return target


class Daemon:
    def __init__(self, data_dir: Path, log: Path, config: Path | None = None) -> None:
        self.data_dir = data_dir
        self.log = log
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None
        self.ports: dict[str, int] = {}

    def start(self, timeout: float = 60.0) -> None:
        ports_file = self.data_dir / "ports.json"
        with suppress(FileNotFoundError):
            ports_file.unlink()
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gateway.cli",
                    "run",
                    *(["--config", str(self.config)] if self.config else []),
                    "--data-dir",
                    str(self.data_dir),
                    "--sftp-listen",
                    "tcp:0:interface=127.0.0.1",
                    "--http-listen",
                    "tcp:0:interface=127.0.0.1",
                ],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ports_file.exists():
                with suppress(ValueError):
                    self.ports = json.loads(ports_file.read_text())
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"the gateway did not start; see {self.log}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def reset_peak(self) -> None:
        with suppress(OSError):
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS

    def peak_rss_mb(self, field: str = "VmHWM") -> float | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()


def http_call(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int | str, bytes]:
    """(status, body) — or (error text, b"") when there was no HTTP answer at all."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.monotonic()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, answer.read()
    except (OSError, http.client.HTTPException) as exc:
        waited = time.monotonic() - started
        return f"no answer ({type(exc).__name__} after {waited:.1f} s)", b""
    finally:
        conn.close()


def brief(body: bytes, limit: int = 160) -> str:
    text = body.decode("utf-8", "replace").strip().replace("\r", "").replace("\n", " | ")
    return text if len(text) <= limit else text[:limit] + "..."


def gen_837(control: int, claims: int = 3) -> bytes:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "gen_837.py"),
            "--claims",
            str(claims),
            "--control",
            str(control),
        ],
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    return out.stdout


def _control() -> int:
    return int(time.time() * 1000) % 900_000_000 + 1


# AS2 ----------------------------------------------------------------------------------------
def _compressed(content_entity: bytes | Callable[[Any], None]) -> bytes:
    """DER CompressedData (zlib) of an entity; ``content_entity`` may be a function that feeds
    a compressobj itself (so N MiB of zeros never sit in this process's memory)."""
    packer = zlib.compressobj(9)
    parts: list[bytes] = []
    if callable(content_entity):
        content_entity(lambda data: parts.append(packer.compress(data)))
    else:
        parts.append(packer.compress(content_entity))
    parts.append(packer.flush())
    compressed = asn1_cms.CompressedData(
        {
            "version": "v0",
            "compression_algorithm": {"algorithm": "zlib"},
            "encap_content_info": {
                "content_type": "data",
                "content": asn1_cms.ParsableOctetString(b"".join(parts)),
            },
        }
    )
    info = asn1_cms.ContentInfo({"content_type": "compressed_data", "content": compressed})
    return bytes(info.dump())


_COMPRESSED_HEADERS = (
    b"Content-Type: application/pkcs7-mime; smime-type=compressed-data; name=smime.p7z\r\n"
    b"Content-Transfer-Encoding: binary\r\n\r\n"
)


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _sign_and_encrypt(entity: bytes, work: Path, name: str, cipher: str, sign: bool) -> bytes:
    """``entity`` (MIME) signed with the demo billing key when ``sign``, then encrypted to the
    demo clearinghouse certificate with ``cipher`` (``openssl cms``); the DER body."""
    source = work / f"{name}.entity"
    source.write_bytes(entity)
    if sign:
        signed = work / f"{name}.signed"
        _openssl(
            "cms", "-sign", "-binary", "-md", "sha256",
            "-signer", str(AS2_DIR / "demo-billing.crt"),
            "-inkey", str(AS2_DIR / "demo-billing.key"),
            "-in", str(source), "-out", str(signed),
        )  # fmt: skip
        source = signed
    der = work / f"{name}.p7m"
    _openssl(
        "cms", "-encrypt", "-binary", cipher, "-recip", str(AS2_DIR / "clearinghouse.crt"),
        "-in", str(source), "-outform", "DER", "-out", str(der),
    )  # fmt: skip
    return der.read_bytes()


def bomb_body(mib: int, work: Path, *, nested: bool = True, sign: bool = False) -> bytes:
    """CompressedData(CompressedData(N MiB of zeros)) — or one layer — signed by the demo
    partner when ``sign`` (compressed before signing), encrypted with AES-256."""
    zero = bytes(1024 * 1024)

    def zeros(feed: Callable[[bytes], None]) -> None:
        feed(b"Content-Type: application/edi-x12\r\nContent-Transfer-Encoding: binary\r\n\r\n")
        for _ in range(mib):
            feed(zero)

    entity = _COMPRESSED_HEADERS + _compressed(zeros)
    if nested:
        entity = _COMPRESSED_HEADERS + _compressed(entity)
    name = f"bomb-{'nested' if nested else 'single'}-{'signed' if sign else 'unsigned'}"
    return _sign_and_encrypt(entity, work, name, "-aes256", sign)


def as2_headers(**extra: str) -> dict[str, str]:
    headers = {
        "AS2-Version": "1.2",
        "AS2-From": "DEMOBILLING",
        "AS2-To": "CLEARINGHOUSE",
        "Message-ID": f"<{time.time_ns()}@attack-replay>",
        "Content-Type": "application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m",
        "Disposition-Notification-To": "edi@demo-billing.example",
        "Disposition-Notification-Options": (
            "signed-receipt-protocol=optional, pkcs7-signature; "
            "signed-receipt-micalg=optional, sha-256"
        ),
    }
    headers.update(extra)
    return headers


def disposition(body: bytes) -> str:
    for line in body.decode("latin-1").splitlines():
        if line.lower().startswith("disposition:"):
            return line.split(":", 1)[1].strip()
    return brief(body, 100)


def case_bomb(daemon: Daemon, args: argparse.Namespace, work: Path, say: Callable[..., None]):  # type: ignore[no-untyped-def]
    """Expected: unsigned → insufficient-message-security without inflating; signed by the
    partner → one layer inflated at most up to [http] max_body, then decompression-failed."""
    variants = [
        (True, False, "CompressedData(CompressedData({} MiB of zeros)), unsigned"),
        (False, False, "CompressedData({} MiB of zeros), unsigned"),
        (True, True, "CompressedData(CompressedData({} MiB of zeros)) signed by DEMOBILLING"),
        (False, True, "CompressedData({} MiB of zeros) signed by DEMOBILLING"),
    ]
    for nested, sign, label in variants:
        body = bomb_body(args.bomb_mib, work, nested=nested, sign=sign)
        say(f"sent {len(body)} bytes: {label.format(args.bomb_mib)}")
        started = time.monotonic()
        status, answer = http_call(daemon.ports["http"], "POST", "/as2", body, as2_headers(), 120)
        say(f"  answer {status} after {time.monotonic() - started:.1f} s: {disposition(answer)}")
        say(f"  peak RSS so far {daemon.peak_rss_mb() or 0:.0f} MB")
    health, _ = http_call(daemon.ports["http"], "GET", "/healthz", timeout=30)
    say(f"/healthz right after: {health}")


def case_des3(daemon: Daemon, args: argparse.Namespace, work: Path, say: Callable[..., None]):  # type: ignore[no-untyped-def]
    """Expected: 3DES → decryption-failed (not listed in the demo profile); AES-256 → processed."""
    entity = (
        b"Content-Type: application/edi-x12\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        + b"ISA*00*          *00*          *ZZ*DEMOBILLING    *ZZ*CLEARINGHOUSE  *~"
    )
    for cipher in ("-des3", "-aes256"):
        body = _sign_and_encrypt(entity, work, f"cipher{cipher}", cipher, True)
        status, answer = http_call(daemon.ports["http"], "POST", "/as2", body, as2_headers(), 30)
        say(f"signed, encrypted with openssl cms {cipher}: answer {status} {disposition(answer)}")


def case_slots(daemon: Daemon, args: argparse.Namespace, work: Path, say: Callable[..., None]):  # type: ignore[no-untyped-def]
    port = daemon.ports["http"]
    head = (
        b"POST /as2 HTTP/1.1\r\nHost: 127.0.0.1\r\nAS2-From: STRANGER\r\nAS2-To: CLEARINGHOUSE\r\n"
        b"Content-Type: application/pkcs7-mime\r\nContent-Length: 1000000\r\n\r\nx"
    )
    socks: list[socket.socket] = []
    answered: list[str] = []
    try:
        for _ in range(args.slot_connections):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(head)
            socks.append(s)
        time.sleep(1.0)
        for s in socks:
            s.setblocking(False)
            with suppress(BlockingIOError, OSError):
                data = s.recv(200)
                answered.append(data.split(b"\r\n", 1)[0].decode("latin-1") or "closed")
        say(
            f"{len(socks)} strangers announced 1,000,000-byte bodies; "
            f"{len(answered)} answered at once: {sorted(set(answered)) or '-'}"
        )
        for s in socks:  # a trickle: one byte each
            with suppress(OSError):
                s.send(b"x")
        data = gen_837(_control())
        status, answer = http_call(
            port,
            "POST",
            "/api/v1/files?filename=slots.837",
            data,
            {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/edi-x12"},
            20,
        )
        say(f"a partner's POST /api/v1/files meanwhile: {status} {brief(answer, 100)}")
        status, answer = http_call(port, "POST", "/as2", b"junk", as2_headers(), 20)
        say(f"a partner's POST /as2 meanwhile: {status} {disposition(answer)}")
    finally:
        for s in socks:
            s.close()
    # strangers who know a partner's AS2 name: admitted up to the per-address cap, then timed
    # out by the body rate check
    known = head.replace(b"AS2-From: STRANGER", b"AS2-From: DEMOBILLING")
    socks = []
    try:
        for _ in range(6):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(known)
            socks.append(s)
        time.sleep(1.0)
        say(f"6 tricklers with a known AS2-From, at once: {_answers(socks)}")
        started = time.monotonic()
        answers = _answers(socks)
        while time.monotonic() < started + 25 and "(open)" in answers:
            for s in socks:
                with suppress(OSError):
                    s.send(b"x")
            time.sleep(2.0)
            answers = _answers(socks)
        waited = time.monotonic() - started
        say(f"... after {waited:.0f} s of a byte per 2 s each: {answers}")
    finally:
        for s in socks:
            s.close()


_SEEN: dict[int, str] = {}


def _closed(s: socket.socket) -> bool:
    return id(s) in _SEEN and _SEEN[id(s)] != "(open)"


def _answers(socks: list[socket.socket]) -> list[str]:
    """Each socket's status line so far ("(open)" while the server says nothing)."""
    seen = []
    for s in socks:
        if _closed(s):
            seen.append(_SEEN[id(s)])
            continue
        s.setblocking(False)
        line = "(open)"
        try:
            data = s.recv(200)
            line = data.split(b"\r\n", 1)[0].decode("latin-1") or "closed"
        except BlockingIOError:
            pass
        except OSError:
            line = "closed"
        _SEEN[id(s)] = line
        seen.append(line)
    return seen


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str, int]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        _Recorder.seen.append(("POST", self.path, length))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def case_mdn(daemon: Daemon, args: argparse.Namespace, work: Path, say: Callable[..., None]):  # type: ignore[no-untyped-def]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.seen = []
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/internal/admin?x=1"
        headers = as2_headers(**{"Receipt-Delivery-Option": url})
        status, answer = http_call(daemon.ports["http"], "POST", "/as2", b"j" * 40, headers, 30)
        say(f"junk with Receipt-Delivery-Option {url}: answer {status} {disposition(answer)}")
        deadline = time.monotonic() + args.mdn_wait
        while time.monotonic() < deadline and not _Recorder.seen:
            time.sleep(0.2)
        if _Recorder.seen:
            method, path, size = _Recorder.seen[0]
            say(f"STEERED: the gateway sent {method} {path} ({size} bytes) to our URL")
        else:
            say(f"nothing reached our URL within {args.mdn_wait:.0f} s")
    finally:
        server.shutdown()
        server.server_close()


# SFTP / SSH ---------------------------------------------------------------------------------
def _key(work: Path) -> paramiko.PKey:
    target = work / "demo-billing"
    if not target.exists():
        shutil.copyfile(KEYS / "demo-billing", target)
        target.chmod(0o600)
    return paramiko.Ed25519Key.from_private_key_file(str(target))


def sftp_put(port: int, key: paramiko.PKey, name: str, data: bytes) -> str:
    transport = paramiko.Transport(("127.0.0.1", port))
    try:
        transport.connect(username="demo-billing", pkey=key)
        sftp = paramiko.SFTPClient.from_transport(transport)
        assert sftp is not None
        sftp.get_channel().settimeout(30)
        with sftp.open(f"/inbound/{name}", "wb") as handle:
            handle.write(data)
        return "OK (the server answered the close with success)"
    except Exception as exc:  # what the client saw
        return f"{type(exc).__name__}: {exc}"
    finally:
        transport.close()


def case_ssh(daemon: Daemon, args: argparse.Namespace, work: Path, say: Callable[..., None]):  # type: ignore[no-untyped-def]
    port = daemon.ports["sftp"]
    # 1. wrong passwords on one connection (each paramiko attempt re-requests ssh-userauth)
    transport = paramiko.Transport(("127.0.0.1", port))
    tried = 0
    ending = "all tried, connection still open"
    started = time.monotonic()
    try:
        transport.start_client(timeout=15)
        for n in range(20):
            if time.monotonic() - started > 90:
                ending = "stopped after 90 s"
                break
            try:
                transport.auth_password("demo-billing", f"wrong-{n}")
            except paramiko.AuthenticationException:
                tried += 1
            except (paramiko.SSHException, EOFError, OSError) as exc:
                ending = f"server closed the connection ({type(exc).__name__})"
                break
    except (paramiko.SSHException, OSError) as exc:
        ending = f"connection failed: {exc}"
    finally:
        transport.close()
    say(f"wrong passwords on one connection: {tried} of 20 were tried; {ending}")
    # 2. the partner's key afterwards
    result = sftp_put(port, _key(work), "after-lockout.837", gen_837(_control(), 1))
    say(f"demo-billing's authorised key after that: {result}")
    # 3. a connection that never authenticates
    quiet = paramiko.Transport(("127.0.0.1", port))
    try:
        quiet.start_client(timeout=15)
        deadline = time.monotonic() + args.hold
        while time.monotonic() < deadline and quiet.is_active():
            time.sleep(0.5)
        state = (
            f"still open after {args.hold:.0f} s (login timeout {args.login_timeout:.0f} s)"
            if quiet.is_active()
            else f"closed by the server after {args.hold - (deadline - time.monotonic()):.0f} s"
        )
    except (paramiko.SSHException, OSError) as exc:
        state = f"refused: {exc}"
    finally:
        quiet.close()
    say(f"a connection that never authenticates: {state}")
    # 4. pre-login connections held at once
    socks: list[socket.socket] = []
    banners = 0
    try:
        for _ in range(args.ssh_connections):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                break
            s.sendall(b"SSH-2.0-attack_replay\r\n")
            socks.append(s)
        for s in socks:
            s.settimeout(5)
            with suppress(OSError):
                if s.recv(64).startswith(b"SSH-"):
                    banners += 1
        say(
            f"{len(socks)} pre-login connections opened, {banners} got an SSH banner "
            "(the server held them all)"
            if banners == len(socks)
            else f"{len(socks)} pre-login connections opened, {banners} got an SSH banner "
            "(the rest were refused at once)"
        )
    finally:
        for s in socks:
            s.close()
    # 5. a spray across user names from one address, then that address again
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.2", 0))
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        sock.close()
    except OSError as exc:
        say(f"address spray: cannot use 127.0.0.2 as a source ({exc}); skipped")
        return
    received = b""
    for user in ("admin", "root", "test"):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.2", 0))
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        sprayed = paramiko.Transport(sock)
        try:
            sprayed.connect(username=user, password="guess")
        except (paramiko.SSHException, OSError, EOFError):
            pass
        finally:
            sprayed.close()
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.bind(("127.0.0.2", 0))
    raw.settimeout(10)
    raw.connect(("127.0.0.1", port))
    with suppress(OSError):
        raw.sendall(b"SSH-2.0-attack_replay\r\n")
        while chunk := raw.recv(4096):
            received += chunk
    raw.close()
    banned = b"too many failed logins" in received
    say(
        "3 user names failed from 127.0.0.2: "
        + (
            "the next connection from it was disconnected with a reason (banned)"
            if banned
            else "the next connection from it was not refused"
        )
    )
    result = sftp_put(port, _key(work), "after-ban.837", gen_837(_control(), 1))
    say(f"demo-billing's key from 127.0.0.1 after that ban: {result}")


# disk full ----------------------------------------------------------------------------------
def _fill(directory: Path, name: str = "filler") -> Path:
    filler = directory / name
    chunk = bytes(1024 * 1024)
    with open(filler, "wb", buffering=0) as out:
        for size in (len(chunk), 4096, 1):
            piece = chunk[:size]
            while True:
                try:
                    out.write(piece)
                except OSError:
                    break
    return filler


def _readyz(port: int) -> str:
    status, body = http_call(port, "GET", "/readyz", timeout=15)
    return f"{status} {brief(body, 120)}"


def case_diskfull(daemon: Daemon, args: argparse.Namespace, work: Path, say: Callable[..., None]):  # type: ignore[no-untyped-def]
    # the main daemon is not used: a second one lives on the small tmpfs
    if os.geteuid() != 0:
        say("skipped: needs root to mount a tmpfs")
        return
    mount = work / "tmpfs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        say(f"skipped: cannot mount a tmpfs ({brief(done.stderr, 80)})")
        return
    small = Daemon(mount / "data", work / "daemon-tmpfs.log")
    try:
        small.start()
        say(f"second daemon (pid {small.pid}) with its data on a 24 MiB tmpfs")
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/edi-x12"}
        port = small.ports["http"]
        filler = _fill(mount)
        say(f"disk filled; /readyz: {_readyz(port)}")
        small_file = gen_837(_control(), 1)
        status, body = http_call(port, "POST", "/api/v1/files", small_file, headers)
        say(f"HTTP upload of {len(small_file)} bytes: {status} {brief(body, 120)}")
        big = gen_837(_control(), 400)[: 1024 * 1024]
        result = sftp_put(small.ports["sftp"], _key(work), "full.837", big)
        say(f"SFTP upload of {len(big)} bytes: {result}")
        # nearly full: room for the upload, not for what follows
        with open(filler, "r+b") as out:
            out.truncate(max(0, filler.stat().st_size - 256 * 1024))
        status, body = http_call(port, "POST", "/api/v1/files", gen_837(_control(), 1), headers)
        file_id = json.loads(body).get("file_id") if status == 202 else None
        say(f"nearly full: HTTP upload {status} {brief(body, 100)}")
        _fill(mount, "filler2")
        time.sleep(2)
        state = _file_state(port, file_id)
        say(f"disk full again; that file is {state}; /readyz: {_readyz(port)}")
        filler.unlink()
        (mount / "filler2").unlink()
        say(f"space freed; /readyz: {_readyz(port)}")
        deadline = time.monotonic() + args.resume_wait
        while file_id and time.monotonic() < deadline:
            state = _file_state(port, file_id)
            if state not in ("received", "unknown"):
                break
            time.sleep(1)
        say(f"that file {args.resume_wait:.0f} s later at most: {state}")
        status, body = http_call(port, "POST", "/api/v1/files", gen_837(_control(), 1), headers)
        say(f"a new HTTP upload: {status} {brief(body, 100)}")
        peak = small.peak_rss_mb()
        say(f"second daemon stopped with {small.stop()}; its peak RSS {peak or 0:.0f} MB")
        checked = subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "audit",
                "verify",
                "--data-dir",
                str(small.data_dir),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        say(f"gateway audit verify: {brief((checked.stdout + checked.stderr).encode(), 140)}")
    finally:
        if small.alive():
            say(f"second daemon stopped with {small.stop()}")
        for _ in range(10):
            if subprocess.run(["umount", str(mount)], capture_output=True).returncode == 0:
                break
            time.sleep(0.5)


def _file_state(port: int, file_id: str | None) -> str:
    if not file_id:
        return "unknown"
    status, body = http_call(
        port, "GET", f"/api/v1/files/{file_id}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    if status != 200:
        return f"unknown ({status})"
    return str(json.loads(body).get("state"))


# main -----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated subset")
    parser.add_argument("--bomb-mib", type=int, default=256, help="zeros inside the bomb")
    parser.add_argument("--slot-connections", type=int, default=41)
    parser.add_argument("--ssh-connections", type=int, default=200)
    parser.add_argument("--hold", type=float, default=15.0, help="s to hold an idle SSH login")
    parser.add_argument(
        "--login-timeout", type=float, default=10.0, help="the daemon's sftp.login_timeout (s)"
    )
    parser.add_argument("--mdn-wait", type=float, default=8.0)
    parser.add_argument("--resume-wait", type=float, default=60.0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    wanted = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; known: {', '.join(CASES)}")
    if args.bomb_mib < 1 or args.bomb_mib > 1024:
        parser.error("--bomb-mib must be 1..1024")
    args.slot_connections = min(max(args.slot_connections, 1), 200)
    args.ssh_connections = min(max(args.ssh_connections, 1), 1000)
    work = Path(tempfile.mkdtemp(prefix="attack-replay-"))
    daemon = Daemon(work / "data", work / "daemon.log", replay_config(work, args.login_timeout))
    handlers = {
        "bomb": case_bomb,
        "des3": case_des3,
        "slots": case_slots,
        "mdn": case_mdn,
        "diskfull": case_diskfull,
        "ssh": case_ssh,  # last: its wrong passwords may lock demo-billing out
    }
    try:
        daemon.start()
        print(f"gateway pid {daemon.pid}, ports {daemon.ports}, data {work / 'data'}")
        print(f"baseline peak RSS {daemon.peak_rss_mb() or 0:.0f} MB")
        for name in [c for c in CASES if c in wanted]:
            print(f"\n== {name}")

            def say(text: str) -> None:
                print(f"   {text}", flush=True)

            daemon.reset_peak()
            before = daemon.peak_rss_mb("VmRSS") or 0
            started = time.monotonic()
            try:
                handlers[name](daemon, args, work, say)
            except Exception as exc:  # report and go on with the next case
                say(f"case error: {type(exc).__name__}: {exc}")
            alive = daemon.alive()
            peak = daemon.peak_rss_mb() if alive else None
            print(
                f"   -> {time.monotonic() - started:.1f} s; gateway RSS {before:.0f} MB before, "
                f"peak {peak or 0:.0f} MB during the case; daemon {'alive' if alive else 'GONE'}"
            )
            if not alive:
                print("   the daemon died; restarting it for the next case")
                daemon.start()
    finally:
        code = daemon.stop()
        print(f"\ngateway stopped with exit code {code}; its log: {daemon.log}")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            print("(temporary directory removed; --keep to keep it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
