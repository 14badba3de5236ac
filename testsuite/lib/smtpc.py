#!/usr/bin/python3
"""smtpc.py - a scriptable SMTP client for the listener tests (smtplib and
raw sockets).  Run with /usr/bin/python3, as the site user under test.

  smtpc.py send HOST PORT FROM TO [--count N] [--helo NAME] [--auth U:P]
           [--starttls CAFILE] [--from-header ADDR] [--subject S] [--pad B]
      Sends N messages in one session (each with B bytes of filler lines
      in its body); prints one line per message:
      "250 ..." on success or "CODE text" of the refusal.  Exit 0.
  smtpc.py raw HOST PORT LINE...
      Reads the greeting, sends each LINE (with CR LF; "\\r" in a LINE is a
      bare CR) and prints every reply line, one per line.  After a 354,
      LINEs up to "." are the message (no reply is awaited).
  smtpc.py hold HOST PORT N SECS
      Opens N connections, prints each greeting's first line, keeps them
      idle for SECS seconds, then prints what each one got meanwhile
      ("idle: ..." lines, "" when nothing).
  smtpc.py connect HOST PORT
      Prints "connected" and the first line received, or the error
      (e.g. "refused").
"""
import smtplib
import socket
import ssl
import sys
import time


def send(a):
    host, port, mfrom, rcpt = a[0], int(a[1]), a[2], a[3]
    opt = {"--count": "1", "--helo": None, "--auth": None, "--starttls": None,
           "--from-header": mfrom, "--subject": "listener test", "--pad": "0"}
    i = 4
    while i < len(a):
        opt[a[i]] = a[i + 1]
        i += 2
    s = smtplib.SMTP(host, port, local_hostname=opt["--helo"], timeout=30)
    s.ehlo(opt["--helo"] or "client.test")
    if opt["--starttls"]:
        ctx = ssl.create_default_context(cafile=opt["--starttls"])
        ctx.check_hostname = False      # the chain is still verified
        s.starttls(context=ctx)
        s.ehlo(opt["--helo"] or "client.test")
    if opt["--auth"]:
        u, p = opt["--auth"].split(":", 1)
        s.login(u, p)
    for k in range(int(opt["--count"])):
        msg = ("From: %s\r\nTo: %s\r\nSubject: %s %d\r\n\r\nbody %d\r\n"
               % (opt["--from-header"], rcpt, opt["--subject"], k + 1, k + 1))
        pad = int(opt["--pad"])
        msg += ("filler line for the size of the message\r\n" * (pad // 41 + 1))[:pad]
        try:
            s.sendmail(mfrom, [rcpt], msg)
            print("250 ok")
        except smtplib.SMTPResponseException as e:
            print(e.smtp_code, e.smtp_error.decode(errors="replace"))
            s.rset()
        except smtplib.SMTPRecipientsRefused as e:
            code, text = list(e.recipients.values())[0]
            print(code, text.decode(errors="replace"))
            s.rset()
        sys.stdout.flush()
    s.quit()


def raw(a):
    c = socket.create_connection((a[0], int(a[1])), timeout=10)
    f = c.makefile("rb")
    print(f.readline().decode(errors="replace").rstrip())
    in_data = False
    for line in a[2:]:
        c.sendall(line.replace("\\r", "\r").encode() + b"\r\n")
        if in_data and line != ".":
            continue                    # message text: no reply yet
        in_data = False
        while True:
            r = f.readline().decode(errors="replace").rstrip()
            print(r)
            if len(r) < 4 or r[3] != "-":
                in_data = r.startswith("354")
                break


def hold(a):
    conns = []
    for _ in range(int(a[2])):
        c = socket.create_connection((a[0], int(a[1])), timeout=10)
        f = c.makefile("rb")
        print(f.readline().decode(errors="replace").rstrip())
        sys.stdout.flush()
        conns.append((c, f))
    time.sleep(float(a[3]))
    for c, f in conns:
        c.settimeout(0.5)
        try:
            print("idle:", f.readline().decode(errors="replace").rstrip())
        except OSError:
            print("idle:")


def connect(a):
    try:
        c = socket.create_connection((a[0], int(a[1])), timeout=5)
    except ConnectionRefusedError:
        print("refused")
        return
    except OSError as e:
        print("error", e)
        return
    c.settimeout(5)
    try:
        print("connected", c.recv(200).decode(errors="replace").rstrip())
    except OSError:
        print("connected")


if __name__ == "__main__":
    {"send": send, "raw": raw, "hold": hold, "connect": connect}[
        sys.argv[1]](sys.argv[2:])
