#!/bin/sh
# mkcert.sh DIR - a throwaway CA and a server certificate for the test
# smarthost, made with the openssl CLI.
#
# Writes into DIR (created if missing):
#   ca.pem ca.key          the CA (give ca.pem to the client as ca_file)
#   server.pem server.key  a certificate for localhost, 127.0.0.1 and ::1,
#                          signed by the CA (server.pem holds the leaf only)
#   other-ca.pem           an unrelated CA, for "untrusted certificate" tests
# Existing files are kept, so several tests can share one DIR.
set -eu
dir=${1:?usage: mkcert.sh DIR}
mkdir -p "$dir"
cd "$dir"
[ -s server.pem ] && [ -s ca.pem ] && [ -s other-ca.pem ] && exit 0
umask 077
days=3650
subj_ca="/CN=sitemail test CA"

openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days $days \
    -keyout ca.key -out ca.pem -subj "$subj_ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

openssl req -newkey rsa:2048 -nodes -sha256 -keyout server.key \
    -out server.csr -subj "/CN=localhost" 2>/dev/null
cat >server.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
    -CAcreateserial -days $days -sha256 -extfile server.ext \
    -out server.pem 2>/dev/null

openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days $days \
    -keyout other-ca.key -out other-ca.pem -subj "/CN=unrelated test CA" \
    -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 644 ca.pem other-ca.pem server.pem
