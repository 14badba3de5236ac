#!/usr/bin/python3
"""smarthost.py - the real SMTP smarthost of the sitemail tests (aiosmtpd).

Run with /usr/bin/python3 (Debian's python3-aiosmtpd 1.4.3).  Listens on
loopback only and writes the port it bound to --port-file (port 0, the
default, picks a free one).  Stops on SIGTERM/SIGINT.

Usage:
  smarthost.py --port-file FILE --spool DIR [--port N] [--host 127.0.0.1]
               [--certdir DIR | --cert FILE --key FILE]
               [--users user:pass,...] [--plain] [--smtps]
               [--control FILE] [--log FILE] [--pid-file FILE]

Modes:
  default    STARTTLS required before anything else (certificate from
             --certdir, as made by mkcert.sh: server.pem + server.key), and
             AUTH (PLAIN/LOGIN) required when --users is given.
  --smtps    implicit TLS on connect (for smtps:// URLs); AUTH as above.
  --plain    no TLS and no AUTH: a plain sink (also the "local MTA").

Every received message is saved as DIR/<n>.eml (the content exactly as
received, dot-unstuffed, CRLF) and then DIR/<n>.json (written atomically
after the .eml) with:
  {"n": n, "connection": c, "mail_from": "...", "rcpt_tos": [...],
   "auth_user": "name" or null, "tls": true/false, "peer": "ip:port",
   "helo": "name", "size": bytes}
The null sender is recorded as "<>".  Connections are numbered from 1 in
the order they arrive; the log has one "connect N peer=..." line each, so a
test can count TCP connections (grep -c '^connect ').  Every reply sent is
logged as "conn N << reply", and the end of a message's content as
"conn N end of data received size=B" (before any "data" delay), so a test
can see which transactions overlapped.

Fault injection: --control FILE is a JSON object re-read for every
connection and command, so a running test can change it (write a new file
and rename it into place).  All keys are optional:

  "greeting": FAULT       reply to a new connection instead of 220, then
                          close the TCP connection (e.g. [421, "4.3.2 busy"])
  "mail": FAULT           reply to MAIL FROM
  "rcpt": {GLOB: FAULT}   reply to RCPT TO for addresses matching GLOB
                          (fnmatch, case-insensitive; the first matching
                          key in file order wins)
  "data": FAULT           reply to the end of DATA instead of 250
  "data_disconnect": D    drop the TCP connection during DATA without a
                          reply: true = after the whole body was read (before
                          the final reply), an integer N = after N bytes of
                          body, or {"after_bytes": N, "times": T}
  "fail_auth": true       every AUTH fails with 535 5.7.8
  "delay": {STAGE: secs}  sleep before replying; STAGE is one of
                          "greeting", "mail", "rcpt", "data" (the final reply)

  FAULT is [code, "text"] or {"code": 451, "text": "4.2.0 later",
  "times": N}.  With "times", the fault applies to the first N occurrences
  only and then the normal reply is given: e.g. "451 for the first 2
  attempts, then 250" for a retry test.  Occurrences are counted per
  control key (per GLOB and address for "rcpt"), and all counts restart
  whenever the control file's content changes.
"""

import argparse
import asyncio
import fnmatch
import json
import logging
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult

log = logging.getLogger("smarthost")


class Control:
    """The fault-injection file, re-read on every use."""

    def __init__(self, path):
        self.path = path
        self.raw = None
        self.conf = {}
        self.counts = {}

    def get(self):
        if not self.path:
            return {}
        try:
            with open(self.path, "rb") as f:
                raw = f.read()
        except OSError:
            raw = b""
        if raw != self.raw:
            self.raw = raw
            self.counts = {}
            try:
                self.conf = json.loads(raw) if raw.strip() else {}
            except ValueError as e:
                log.warning("control: bad JSON in %s: %s", self.path, e)
                self.conf = {}
        return self.conf

    def take(self, key, spec):
        """Count one occurrence of spec under key; True if it applies."""
        times = spec.get("times") if isinstance(spec, dict) else None
        n = self.counts.get(key, 0)
        self.counts[key] = n + 1
        return times is None or n < int(times)

    def fault(self, key, spec=None):
        """The reply "code text" for a FAULT at key, or None."""
        if spec is None:
            spec = self.get().get(key)
        if not spec:
            return None
        if not self.take(key, spec):
            return None
        if isinstance(spec, dict):
            code, text = spec.get("code", 451), spec.get("text", "")
        else:
            code, text = spec[0], (spec[1] if len(spec) > 1 else "")
        return ("%d %s" % (int(code), text)).rstrip()

    def rcpt_fault(self, address):
        rules = self.get().get("rcpt") or {}
        for glob, spec in rules.items():
            if fnmatch.fnmatchcase(address.lower(), glob.lower()):
                return self.fault("rcpt %s %s" % (glob, address.lower()),
                                  spec)
        return None

    def delay(self, stage):
        d = self.get().get("delay") or {}
        try:
            return float(d.get(stage, 0)) if isinstance(d, dict) else 0.0
        except (TypeError, ValueError):
            return 0.0

    def disconnect(self):
        """None, or the number of body bytes after which to drop (-1 = at
        the end of the body)."""
        spec = self.get().get("data_disconnect")
        if spec is None or spec is False:
            return None
        if not self.take("data_disconnect", spec):
            return None
        if spec is True:
            return -1
        if isinstance(spec, dict):
            return int(spec.get("after_bytes", -1))
        return int(spec)


class State:
    """Counters shared by all connections of this process."""

    def __init__(self, args):
        self.args = args
        self.control = Control(args.control)
        self.connections = 0
        self.messages = 0
        self.users = {}
        for pair in filter(None, (args.users or "").split(",")):
            user, _, password = pair.partition(":")
            self.users[user] = password


class Handler:
    """aiosmtpd hooks: per-recipient replies and the saved messages."""

    def __init__(self, state):
        self.state = state

    async def handle_MAIL(self, server, session, envelope, address, options):
        ctl = self.state.control
        await asyncio.sleep(ctl.delay("mail"))
        reply = ctl.fault("mail")
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        ctl = self.state.control
        await asyncio.sleep(ctl.delay("rcpt"))
        reply = ctl.rcpt_fault(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        ctl = self.state.control
        log.info("conn %d end of data received size=%d", server.conn_no,
                 len(envelope.original_content or b""))
        await asyncio.sleep(ctl.delay("data"))
        reply = ctl.fault("data")
        if reply:
            return reply
        st = self.state
        st.messages += 1
        n = st.messages
        base = os.path.join(st.args.spool, str(n))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        auth = session.auth_data
        login = getattr(auth, "login", None)
        if isinstance(login, bytes):
            login = login.decode("utf-8", "replace")
        peer = session.peer
        meta = {
            "n": n,
            "connection": server.conn_no,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth_user": login,
            "tls": bool(server.implicit_tls or session.ssl is not None),
            "peer": "%s:%s" % (peer[0], peer[1]) if peer else None,
            "helo": session.host_name,
            "size": len(envelope.original_content),
        }
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        log.info("conn %d message %d from=<%s> rcpt=%s size=%d user=%s",
                 server.conn_no, n, envelope.mail_from,
                 ",".join(envelope.rcpt_tos), meta["size"], login)
        return "250 2.0.0 OK queued as %d" % n


class Smarthost(SMTP):
    """SMTP with connection-level faults (greeting, drop during DATA)."""

    def __init__(self, handler, state, implicit_tls, **kw):
        super().__init__(handler, **kw)
        self.state = state
        self.implicit_tls = implicit_tls
        self.conn_no = 0

    async def push(self, status):
        text = status if isinstance(status, str) else status.decode(
            "ascii", "replace")
        log.info("conn %d << %s", self.conn_no, text)
        await super().push(status)

    async def _handle_client(self):
        st = self.state
        st.connections += 1
        self.conn_no = st.connections
        peer = self.session.peer
        log.info("connect %d peer=%s:%s", self.conn_no, peer[0], peer[1])
        await asyncio.sleep(st.control.delay("greeting"))
        reply = st.control.fault("greeting")
        if reply:
            await self.push(reply)
            self.transport.close()
            return
        await super()._handle_client()

    async def smtp_DATA(self, arg):
        after = None
        if (self.session.host_name and self.envelope.rcpt_tos and not arg
                and not (self._auth_required
                         and not self.session.authenticated)):
            after = self.state.control.disconnect()
        if after is None:
            return await super().smtp_DATA(arg)
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        got = 0
        while after < 0 or got < after:
            line = await self._reader.readuntil(b"\r\n")
            if line == b".\r\n":
                break
            got += len(line)
        log.info("conn %d dropping the connection in DATA after %d bytes",
                 self.conn_no, got)
        self.transport.abort()


def authenticator(state):
    """An AUTH checker against --users, honouring "fail_auth"."""

    def check(server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        ok = (not state.control.get().get("fail_auth")
              and login in state.users and state.users[login] == password)
        log.info("conn %d AUTH %s user=%s %s", server.conn_no, mechanism,
                 login, "ok" if ok else "failed")
        if not ok:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data)

    return check


def tls_context(args):
    cert = args.cert or os.path.join(args.certdir, "server.pem")
    key = args.key or os.path.join(args.certdir, "server.key")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def parse_args():
    p = argparse.ArgumentParser(description="test SMTP smarthost")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--spool", required=True)
    p.add_argument("--certdir")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--users")
    p.add_argument("--plain", action="store_true")
    p.add_argument("--smtps", action="store_true")
    p.add_argument("--control")
    p.add_argument("--log")
    p.add_argument("--pid-file")
    args = p.parse_args()
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        p.error("loopback addresses only")
    if not args.plain and not (args.certdir or (args.cert and args.key)):
        p.error("TLS needs --certdir or --cert and --key (or use --plain)")
    return args


def main():
    args = parse_args()
    logging.basicConfig(
        filename=args.log, level=logging.INFO,
        format="%(message)s" if args.log is None else
        "%(asctime)s %(name)s %(message)s")
    # aiosmtpd's own lines ("mail.log"): commands received, peers.
    logging.getLogger("mail.log").setLevel(logging.INFO)
    os.makedirs(args.spool, exist_ok=True)
    state = State(args)
    handler = Handler(state)
    ctx = None if args.plain else tls_context(args)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    kw = dict(hostname="smarthost.test", data_size_limit=64 * 1024 * 1024,
              enable_SMTPUTF8=True, loop=loop)
    if not args.plain:
        kw.update(authenticator=authenticator(state),
                  auth_required=bool(state.users))
        if args.smtps:
            kw.update(auth_require_tls=False)   # the socket is TLS already
        else:
            kw.update(tls_context=ctx, require_starttls=True)

    def factory():
        return Smarthost(handler, state, bool(args.smtps), **kw)

    server = loop.run_until_complete(loop.create_server(
        factory, host=args.host, port=args.port,
        ssl=ctx if args.smtps else None))
    port = server.sockets[0].getsockname()[1]
    log.info("listening on %s port %d (%s)", args.host, port,
             "plain" if args.plain else "smtps" if args.smtps else
             "starttls")
    for path, value in ((args.port_file, port), (args.pid_file, os.getpid())):
        if path:
            with open(path + ".tmp", "w") as f:
                f.write("%d\n" % value)
            os.rename(path + ".tmp", path)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
