#!/bin/sh
# Regenerates the certificate test data with OpenSSH's ssh-keygen: three
# CA keys, and certificates for the user keys of ../keys. The CA private
# keys are deleted afterwards; the unit tests need only the public halves.
# Run it only to replace the whole set (test_cert.c names serials, ids,
# principals and windows below).
set -e
cd "$(dirname "$0")"
rm -f ca_* *.pub
kg() { ssh-keygen -q "$@"; }
kg -t ed25519 -N '' -C ferry-ca-ed25519 -f ca_ed25519
kg -t ecdsa -b 256 -N '' -C ferry-ca-ecdsa -f ca_ecdsa
kg -t rsa -b 2048 -N '' -C ferry-ca-rsa -f ca_rsa
for k in ed25519 ecdsa rsa; do
	cp ../keys/id_$k.pub user_$k.pub
done
cp ../keys/id_ed25519.pub host_ed25519.pub
cp ../keys/id_ed25519.pub expired_ed25519.pub
cp ../keys/id_ed25519.pub any_ed25519.pub
cp ../keys/id_ed25519.pub crit_ed25519.pub
cp ../keys/id_ed25519.pub source_ed25519.pub
# ed25519 user key, ed25519 CA, two principals, a fixed window.
kg -s ca_ed25519 -I ferry-user -n alice,bob -V 20200101:20400101 -z 42 \
    user_ed25519.pub
# ecdsa user key, RSA CA (rsa-sha2-512), critical options.
kg -s ca_rsa -I ferry-ecdsa -n carol -V 20200101:20400101 -z 7 \
    -O force-command=/bin/true -O source-address=127.0.0.1/32 \
    user_ecdsa.pub
# RSA user key, ecdsa CA, no extensions.
kg -s ca_ecdsa -I ferry-rsa -n dave -V 20200101:20400101 -z 9 \
    -O clear user_rsa.pub
# A host certificate.
kg -s ca_ed25519 -h -I ferry-host -n host.example,192.0.2.7 \
    -V 20200101:20400101 host_ed25519.pub
# Expired in 2001.
kg -s ca_ed25519 -I ferry-old -n alice -V 20000101:20010101 \
    expired_ed25519.pub
# No principals, valid forever.
kg -s ca_ed25519 -I ferry-any any_ed25519.pub
# A critical option nobody knows; source-address without port forwarding
# (test_certauth.c).
kg -s ca_ed25519 -I ferry-crit -n alice -V 20200101:20400101 \
    -O critical:frobnicate=yes crit_ed25519.pub
kg -s ca_ed25519 -I ferry-source -n alice -V 20200101:20400101 \
    -O source-address=10.0.0.0/8,2001:db8::/32 -O no-port-forwarding \
    source_ed25519.pub
rm -f ca_ed25519 ca_ecdsa ca_rsa user_*.pub.tmp
for k in user_ed25519 user_ecdsa user_rsa host_ed25519 expired_ed25519 \
    any_ed25519 crit_ed25519 source_ed25519; do
	rm -f $k.pub
done
