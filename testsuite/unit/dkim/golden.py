#!/usr/bin/python3
"""golden.py - independent golden values for testsuite/unit/test_dkim.c.

Run at development time with /usr/bin/python3 (python3-dkim):
    golden.py KEY MESSAGE DOMAIN SELECTOR T HLIST [ED25519-SEED-HEX]
It computes, without sitemail's code, the relaxed body hash (bh=) of
MESSAGE and the rsa-sha256 signature (b=) over the header fields named in
HLIST (colon-separated, bottom-up instances, absent ones skipped) followed
by the DKIM-Signature header laid out as queue/dkim.c lays it out, with
python3-dkim's canonicalization and its own PKCS#1 v1.5 signer.  With a
seed (the last 32 bytes of "openssl pkey -in KEY -outform DER"), the
signature is ed25519-sha256 instead (RFC 8463: PureEdDSA over the SHA-256
digest), made with PyNaCl.  Prints "bh=..." and "b=..." (unfolded)."""
import base64
import hashlib
import sys

from dkim.canonicalization import Relaxed
from dkim.crypto import parse_pem_private_key, RSASSA_PKCS1_v1_5_sign
from dkim.util import parse_tag_value  # noqa: F401  (import check)
import dkim


def main():
    key, path, domain, sel, t, hlist = sys.argv[1:7]
    msg = open(path, "rb").read()
    headers, body = dkim.rfc822_parse(msg)
    bh = base64.b64encode(hashlib.sha256(
        Relaxed.canonicalize_body(body)).digest()).decode()
    names = hlist.split(":")
    canon = Relaxed.canonicalize_headers(headers)
    used = set()
    data = b""
    for n in names:
        for i in range(len(canon) - 1, -1, -1):
            if i not in used and canon[i][0].lower() == n.encode():
                used.add(i)
                data += canon[i][0] + b":" + canon[i][1]
                break
    seed = sys.argv[7] if len(sys.argv) > 7 else None
    alg = "ed25519-sha256" if seed else "rsa-sha256"
    sig = ("v=1; a=%s; c=relaxed/relaxed; d=%s; s=%s;\r\n\tt=%s; "
           "h=%s;\r\n\tbh=%s;\r\n\tb=" % (alg, domain, sel, t, hlist,
                                           bh)).encode()
    (name, value), = Relaxed.canonicalize_headers([(b"DKIM-Signature", sig)])
    data += name + b":" + value.rstrip(b"\r\n")
    if seed:
        import nacl.signing
        b = nacl.signing.SigningKey(bytes.fromhex(seed)).sign(
            hashlib.sha256(data).digest()).signature
    else:
        pk = parse_pem_private_key(open(key, "rb").read())
        b = RSASSA_PKCS1_v1_5_sign(hashlib.sha256(data), pk)
    print("bh=" + bh)
    print("b=" + base64.b64encode(b).decode())


main()
