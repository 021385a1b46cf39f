#!/bin/sh
# Regenerates the key test data with OpenSSH's ssh-keygen (and openssl for
# a PKCS#8 ed25519 key). The unit tests compare against these files, so
# run it only to replace the whole set.
set -e
cd "$(dirname "$0")"
rm -f id_* known_hosts_* msg.txt
kg() { ssh-keygen -q "$@"; }
kg -t ed25519 -N '' -C ferry-test-ed25519 -f id_ed25519
kg -t ecdsa -b 256 -N '' -C ferry-test-ecdsa -f id_ecdsa
kg -t rsa -b 2048 -N '' -C ferry-test-rsa -f id_rsa
kg -t ed25519 -N x -C ferry-test-enc -f id_ed25519_enc
kg -t rsa -b 2048 -m PEM -N '' -C ferry-test-rsa-pem -f id_rsa_pem
kg -t ecdsa -b 256 -m PEM -N '' -C ferry-test-ecdsa-pem -f id_ecdsa_pem
kg -t ecdsa -b 256 -m PKCS8 -N '' -C ferry-test-ecdsa-pkcs8 -f id_ecdsa_pkcs8
kg -t rsa -b 2048 -m PEM -N xxxxx -C ferry-test-rsa-pem-enc -f id_rsa_pem_enc
kg -t ecdsa -b 256 -m PKCS8 -N xxxxx -C ferry-test-ecdsa-pkcs8-enc \
    -f id_ecdsa_pkcs8_enc
openssl genpkey -algorithm ed25519 -out id_ed25519_pkcs8
chmod 600 id_ed25519_pkcs8
# ssh-keygen 9.2 cannot read it; build the public line from openssl's.
{
	printf '\000\000\000\013ssh-ed25519\000\000\000\040'
	openssl pkey -in id_ed25519_pkcs8 -pubout -outform DER | tail -c 32
} | base64 -w0 | sed 's/^/ssh-ed25519 /; s/$/ ferry-test-ed25519-pkcs8\n/' \
    > id_ed25519_pkcs8.pub
for k in id_ed25519 id_ecdsa id_rsa id_rsa_pem id_ecdsa_pem id_ecdsa_pkcs8 \
    id_ed25519_pkcs8; do
	ssh-keygen -lf $k.pub > $k.fp
done
# Signatures made by OpenSSH (SSHSIG format, PROTOCOL.sshsig); the inner
# signature is a plain SSH signature blob.
printf 'ferry test message\n' > msg.txt
for k in id_ed25519 id_ecdsa id_rsa; do
	ssh-keygen -q -Y sign -f $k -n ferry-test < msg.txt > $k.sshsig
done
# Plain and ssh-keygen -H hashed known_hosts.
{
	echo "example.com $(cut -d' ' -f1,2 id_ed25519.pub)"
	echo "[example.org]:2222 $(cut -d' ' -f1,2 id_ecdsa.pub)"
	echo "192.0.2.7 $(cut -d' ' -f1,2 id_rsa.pub)"
} > known_hosts_plain
cp known_hosts_plain known_hosts_hashed
ssh-keygen -q -H -f known_hosts_hashed
rm -f known_hosts_hashed.old
