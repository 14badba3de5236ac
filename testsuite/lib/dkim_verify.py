#!/usr/bin/python3
"""dkim_verify.py - verify DKIM signatures with python3-dkim (an
independent implementation), the public keys read from a real DNS server.

Usage: dkim_verify.py --dns HOST:PORT FILE...

Run with /usr/bin/python3 (Debian's python3-dkim and python3-dnspython).
Every FILE is a message as the smarthost stored it (CRLF).  The key
records are asked from the DNS server at HOST:PORT (the test dnsmasq),
over UDP, with dnspython: nothing is mocked.  Every DKIM-Signature is
checked (ed25519-sha256 needs python3-nacl).  Prints one line per file,
"FILE: pass d=DOMAIN s=SELECTOR a=ALG[, pass ...]" or with "fail (why)"
for a signature that does not verify, and exits 1 when any signature
fails or a file has no DKIM-Signature.
"""
import argparse
import re
import sys

import dkim
import dns.resolver


def make_dnsfunc(host, port):
    """A dnsfunc for dkim.verify that asks host:port for TXT records."""
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = [host]
    res.port = int(port)

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode("ascii")
        try:
            ans = res.resolve(name, "TXT", lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        for rr in ans:
            return b"".join(rr.strings)
        return None
    return dnsfunc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dns", required=True)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    host, port = a.dns.rsplit(":", 1)
    dnsfunc = make_dnsfunc(host, port)
    bad = 0
    for f in a.files:
        msg = open(f, "rb").read()
        if not re.match(rb"(?i)dkim-signature:", msg):
            print("%s: fail (no DKIM-Signature at the top)" % f)
            bad += 1
            continue
        nsig = len(re.findall(rb"(?im)^dkim-signature:", msg.split(
            b"\r\n\r\n", 1)[0]))
        res = []
        for idx in range(nsig):
            d = dkim.DKIM(msg)
            try:
                ok = d.verify(idx=idx, dnsfunc=dnsfunc)
            except dkim.DKIMException as e:
                ok, why = False, str(e)
            else:
                why = "signature did not verify"
            fields = d.signature_fields
            if ok:
                res.append("pass d=%s s=%s a=%s" % (
                    fields[b"d"].decode(), fields[b"s"].decode(),
                    fields[b"a"].decode()))
            else:
                res.append("fail (%s)" % why)
                bad += 1
        print("%s: %s" % (f, ", ".join(res)))
    sys.exit(1 if bad else 0)


main()
