#!/bin/sh
# Regenerates the KRL test data with OpenSSH's ssh-keygen -k, against the
# keys of ../keys and the CAs and certificates of ../certs (user_ed25519:
# serial 42, key ID ferry-user, CA ca_ed25519). test_krl.c names what
# each one revokes. Also seeds tests/fuzz/corpus/krl.
set -e
cd "$(dirname "$0")"
rm -f *.krl
k() { out=$1; shift; ssh-keygen -q -k -f "$out" "$@"; }
spec() { printf '%s\n' "$@" > spec.tmp; }
spec 'serial: 42'
k serial.krl -s ../certs/ca_ed25519.pub spec.tmp
k serial_other_ca.krl -s ../certs/ca_ecdsa.pub spec.tmp
spec 'serial: 40-5000000'
k range.krl -s ../certs/ca_ed25519.pub spec.tmp
spec 'serial: 2' 'serial: 12' 'serial: 30' 'serial: 42' 'serial: 66' \
    'serial: 90' 'serial: 130'
k bitmap.krl -s ../certs/ca_ed25519.pub spec.tmp
spec 'serial: 43' 'serial: 45' 'serial: 1000-2000'
k near.krl -s ../certs/ca_ed25519.pub spec.tmp
spec 'id: ferry-user'
k keyid.krl -s ../certs/ca_ed25519.pub spec.tmp
# (ssh-keygen wants a CA for key IDs: the any-CA form is made by hand in test_krl.c)
spec "key: $(cat ../keys/id_ecdsa.pub)"
k key.krl spec.tmp
k ca.krl ../certs/ca_ed25519.pub
spec "sha1: $(cat ../keys/id_rsa.pub)"
k sha1.krl spec.tmp
spec "sha256: $(cat ../keys/id_rsa.pub)"
k sha256.krl spec.tmp
spec "hash: $(ssh-keygen -l -E sha256 -f ../keys/id_ecdsa.pub | cut -d' ' -f2)"
k hash.krl spec.tmp
k empty.krl
rm -f spec.tmp
mkdir -p ../../../fuzz/corpus/krl
cp *.krl ../../../fuzz/corpus/krl/
