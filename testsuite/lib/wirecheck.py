#!/usr/bin/python3
"""wirecheck.py - what a message looks like on the wire, for the tests of
issue 10 (testsuite/t/33-wire.t).  Run with /usr/bin/python3.

  wirecheck.py check EML [SUBMITTED]
      The message smarthost.py saved (EML, its JSON beside it) obeys the
      wire rules: CRLF only, no bare CR or LF, no line over 998 bytes; the
      envelope (MAIL FROM, every RCPT TO) holds no blank, "<", ">" or
      control byte.  With SUBMITTED (the bytes given to sendmail), every
      MIME leaf part decodes (email package, Content-Transfer-Encoding
      applied) to exactly the submitted part's decoded bytes, line endings
      aside (CRLF and LF are one form, as at intake).  Prints "ok" or one
      line per problem.
  wirecheck.py header EML NAME
      Every NAME field, unfolded and RFC 2047-decoded, joined by " | "
      ("-" if none).
  wirecheck.py parts EML
      One line per leaf part: its Content-Type and transfer encoding.
"""

import email
import email.header
import email.policy
import json
import re
import sys


def wire_problems(raw):
    """wire_problems - CRLF / line length / bare CR checks on raw bytes."""
    out = []
    if re.search(rb"\r(?!\n)", raw):
        out.append("bare CR on the wire")
    if re.search(rb"(?<!\r)\n", raw):
        out.append("bare LF on the wire")
    longest = max((len(line) for line in raw.split(b"\r\n")), default=0)
    if longest > 998:
        out.append("line of %d bytes on the wire" % longest)
    return out


def envelope_problems(meta):
    """envelope_problems - MAIL/RCPT addresses fit for the wire."""
    out = []
    for a in [meta["mail_from"]] + meta["rcpt_tos"]:
        if a == "<>":
            continue
        if re.search(r"[\s<>\x00-\x1f\x7f]", a):
            out.append("unsafe envelope address %r" % a)
    return out


def leaves(raw):
    """leaves - decoded bytes of every non-multipart part, CRLF -> LF."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    res = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        data = part.get_payload(decode=True)
        if data is None:
            data = b""
        res.append(data.replace(b"\r\n", b"\n"))
    return res


def cmd_check(eml, submitted):
    """cmd_check - the wire and envelope rules, then the decoded parts."""
    raw = open(eml, "rb").read()
    meta = json.load(open(eml[:-4] + ".json"))
    out = wire_problems(raw) + envelope_problems(meta)
    if submitted:
        sub = open(submitted, "rb").read()
        if sub.startswith(b"From "):
            sub = sub.split(b"\n", 1)[1]
        got, want = leaves(raw), leaves(sub)
        if len(got) != len(want):
            out.append("%d parts on the wire, %d submitted" %
                       (len(got), len(want)))
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                k = next((j for j in range(min(len(g), len(w)))
                          if g[j] != w[j]), min(len(g), len(w)))
                out.append("part %d differs at byte %d (%d vs %d bytes): "
                           "%r / %r" % (i, k, len(g), len(w),
                                        g[k:k + 20], w[k:k + 20]))
    print("\n".join(out) if out else "ok")


def cmd_header(eml, name):
    """cmd_header - the unfolded values of a field."""
    msg = email.message_from_bytes(open(eml, "rb").read(),
                                   policy=email.policy.compat32)
    vals = [str(email.header.make_header(email.header.decode_header(
        re.sub(r"\r?\n(?=[ \t])", "", str(v)).strip())))
            for v in msg.get_all(name, [])]
    print(" | ".join(vals) if vals else "-")


def cmd_parts(eml):
    """cmd_parts - Content-Type and encoding of each leaf part."""
    msg = email.message_from_bytes(open(eml, "rb").read(),
                                   policy=email.policy.compat32)
    for part in msg.walk():
        if not part.is_multipart():
            print(part.get_content_type(),
                  part.get("Content-Transfer-Encoding", "-").strip().lower())


def main():
    """main - dispatch."""
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "check":
        cmd_check(args[0], args[1] if len(args) > 1 else None)
    elif cmd == "header":
        cmd_header(args[0], args[1])
    elif cmd == "parts":
        cmd_parts(args[0])
    else:
        sys.exit("usage: wirecheck.py check|header|parts EML ...")


if __name__ == "__main__":
    main()
