#!/usr/bin/env python3
"""tlog_verify.py - an independent verifier of the agent's transparency log.

It shares no code with the C implementation (audit/merkle.c,
audit/signed_note.c, audit/checkpoint.c): the tree is computed from
RFC 6962 §2.1 as written, proofs are checked by recomputing subtree
hashes (not with RFC 9162's bit-walking algorithm the C code uses), and
signatures with the `cryptography` package. A misunderstanding the two
shared would pass both; two readings of the RFC that disagree fail here.

  tlog_verify.py selftest
      the CT reference vectors (roots of sizes 0-8)
  tlog_verify.py note NOTE PUBKEY.pem NAME
      a signed note: the type 0x02 signature of NAME's key, and the
      checkpoint body it carries; prints "origin size root"
  tlog_verify.py proof PROOF PUBKEY.pem
      a C2SP tlog-proof (a receipt, "hsmagent audit prove"): the
      checkpoint's signature and the inclusion of its record; prints
      "index size sha256(record)"
  tlog_verify.py root LOG [SIZE]
      the root of the log's first SIZE records (default all), in base64
  tlog_verify.py vkey LINE PUBKEY.pem NAME
      a C2SP verifier key line (as Go's note verifiers and Rekor read
      type 0x02 keys): NAME's, of type 0x02, the key in PUBKEY.pem, its
      hash the key ID
  tlog_verify.py log LOG PUBKEY.pem
      every checkpoint record of the log, starting from the one trusted
      key and following key rotations (a rotation record names a
      trusted key and a new one; the next checkpoint must carry both
      signatures); prints "checkpoints N rotations R"
"""
import json
import base64
import hashlib
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves):
    """MTH(D[n]) exactly as RFC 6962 §2.1 defines it."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def log_leaves(path):
    with open(path, "rb") as f:
        return [leaf_hash(line.rstrip(b"\n")) for line in f]


EM_DASH = "\u2014 "


def parse_note(text):
    """(signed text, [(name, key id, signature)]) or ValueError."""
    i = text.rfind("\n\n")
    if i < 0 or not text.endswith("\n"):
        raise ValueError("not a signed note")
    body, sigs = text[: i + 1], []
    for line in text[i + 2 :].split("\n")[:-1]:
        if not line.startswith(EM_DASH):
            raise ValueError("a malformed signature line")
        name, b64 = line[len(EM_DASH) :].split(" ")
        raw = base64.b64decode(b64, validate=True)
        if base64.b64encode(raw).decode() != b64 or len(raw) < 5:
            raise ValueError("not canonical base64")
        sigs.append((name, raw[:4], raw[4:]))
    if not sigs:
        raise ValueError("no signature")
    return body, sigs


def key_id(pub):
    der = pub.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).digest()[:4]


def verify_note(text, pub, name):
    body, sigs = parse_note(text)
    kid = key_id(pub)
    for n, k, sig in sigs:
        if n == name and k == kid:
            pub.verify(sig, body.encode(), ec.ECDSA(hashes.SHA256()))
            return body
    raise ValueError("no signature by the key")


def parse_checkpoint(body):
    lines = body.split("\n")
    origin, size, root = lines[0], lines[1], lines[2]
    if not origin or " " in origin or (size != "0" and size.startswith("0")):
        raise ValueError("not a checkpoint")
    r = base64.b64decode(root, validate=True)
    if len(r) != 32 or base64.b64encode(r).decode() != root:
        raise ValueError("not a root hash")
    return origin, int(size), r


def root_from_path(leaf, m, n, path):
    """The root of n leaves from leaf m and its audit path, by the
    recursion that defines PATH (RFC 6962 §2.1.1), not RFC 9162's loop."""
    if n == 1:
        if path:
            raise ValueError("a proof longer than the tree is deep")
        return leaf
    if not path:
        raise ValueError("a proof too short")
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return node_hash(root_from_path(leaf, m, k, path[:-1]), path[-1])
    return node_hash(path[-1], root_from_path(leaf, m - k, n - k, path[:-1]))


def verify_proof(text, pub):
    """A C2SP tlog-proof: (record bytes, index, origin, size)."""
    lines = text.split("\n")
    if lines[0] != "c2sp.org/tlog-proof@v1":
        raise ValueError("not a tlog-proof")
    i, extra = 1, b""
    if lines[i].startswith("extra "):
        extra = base64.b64decode(lines[i][6:], validate=True)
        i += 1
    if not lines[i].startswith("index "):
        raise ValueError("no index")
    index = int(lines[i][6:])
    i += 1
    path = []
    while lines[i] != "":
        path.append(base64.b64decode(lines[i], validate=True))
        i += 1
    note = "\n".join(lines[i + 1:])
    body, sigs = parse_note(note)
    origin, size, root = parse_checkpoint(body)
    verify_note(note, pub, origin)
    if index >= size or root_from_path(leaf_hash(extra), index, size, path) != root:
        raise ValueError("the record is not in the checkpointed tree")
    return extra, index, origin, size


def spki(pub):
    return pub.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def parse_vkey(line):
    """(name, public key) of a type 0x02 verifier key line."""
    name, khash, b64 = line.split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    if base64.b64encode(raw).decode() != b64 or raw[:1] != b"\x02":
        raise ValueError("not a type 0x02 verifier key")
    pub = serialization.load_der_public_key(raw[1:])
    if not isinstance(pub.curve, ec.SECP256R1) or spki(pub) != raw[1:]:
        raise ValueError("not a P-256 SubjectPublicKeyInfo")
    if key_id(pub).hex() != khash:
        raise ValueError("the key hash is not the key's")
    return name, pub


def signed_by(text, pub, name):
    """Does the note carry a valid signature of the key? A line for the
    key that fails raises."""
    body, sigs = parse_note(text)
    for n, k, sig in sigs:
        if n == name and k == key_id(pub):
            pub.verify(sig, body.encode(), ec.ECDSA(hashes.SHA256()))
            return True
    return False


def verify_log(path, pub):
    with open(path, "rb") as f:
        lines = [line.rstrip(b"\n") for line in f]
    leaves = [leaf_hash(line) for line in lines]
    trusted, pending, count, rotations = [pub], None, 0, 0
    for i, line in enumerate(lines):
        r = json.loads(line)
        d = r.get("details") or {}
        if r["event"] == "audit.checkpoint_key":
            _, old = parse_vkey(d["from"])
            _, new = parse_vkey(d["to"])
            match = [k for k in trusted if spki(k) == spki(old)]
            if not match:
                raise ValueError("record %d rotates from an untrusted key" % (i + 1))
            pending = (match[0], new)
        elif r["event"] == "audit.checkpoint":
            body = parse_note(d["note"])[0]
            origin, size, root = parse_checkpoint(body)
            if not any([signed_by(d["note"], k, origin) for k in trusted]):
                raise ValueError("record %d: no trusted signature" % (i + 1))
            if pending is not None:
                old, new = pending
                if not (signed_by(d["note"], old, origin) and
                        signed_by(d["note"], new, origin)):
                    raise ValueError("record %d: the rotation is not signed by both" % (i + 1))
                trusted = [new if k is old else k for k in trusted]
                pending, rotations = None, rotations + 1
            if size != i or mth(leaves[:i]) != root:
                raise ValueError("record %d: not the log's tree" % (i + 1))
            count += 1
    if pending is not None or count == 0:
        raise ValueError("no checkpoint, or a rotation never signed by both")
    return count, rotations


def selftest():
    data = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031",
            "40414243", "5051525354555657",
            "606162636465666768696a6b6c6d6e6f")]
    roots = ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
             "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
             "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
             "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
             "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
             "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
             "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
             "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]
    leaves = [leaf_hash(d) for d in data]
    for n in range(9):
        assert mth(leaves[:n]).hex() == roots[n], n
    print("selftest: the CT reference roots, sizes 0 to 8")


def main(argv):
    if len(argv) == 2 and argv[1] == "selftest":
        selftest()
    elif len(argv) == 5 and argv[1] == "note":
        with open(argv[3], "rb") as f:
            pub = serialization.load_pem_public_key(f.read())
        with open(argv[2], encoding="utf-8") as f:
            body = verify_note(f.read(), pub, argv[4])
        origin, size, root = parse_checkpoint(body)
        print(origin, size, base64.b64encode(root).decode())
    elif len(argv) == 4 and argv[1] == "proof":
        with open(argv[3], "rb") as f:
            pub = serialization.load_pem_public_key(f.read())
        with open(argv[2], encoding="utf-8") as f:
            extra, index, origin, size = verify_proof(f.read(), pub)
        print(index, size, hashlib.sha256(extra).hexdigest())
    elif len(argv) in (3, 4) and argv[1] == "root":
        leaves = log_leaves(argv[2])
        n = int(argv[3]) if len(argv) == 4 else len(leaves)
        if n > len(leaves):
            raise ValueError("the log has %d records, not %d" % (len(leaves), n))
        print(base64.b64encode(mth(leaves[:n])).decode())
    elif len(argv) == 5 and argv[1] == "vkey":
        with open(argv[3], "rb") as f:
            pub = serialization.load_pem_public_key(f.read())
        name, got = parse_vkey(argv[2])
        if name != argv[4] or spki(got) != spki(pub):
            raise ValueError("the verifier key is not NAME's key in the PEM")
        print("vkey", name, key_id(got).hex())
    elif len(argv) == 4 and argv[1] == "log":
        with open(argv[3], "rb") as f:
            pub = serialization.load_pem_public_key(f.read())
        count, rotations = verify_log(argv[2], pub)
        print("checkpoints", count, "rotations", rotations)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (ValueError, InvalidSignature, OSError, KeyError) as e:
        sys.stderr.write("tlog_verify: %s\n" % (e or "the signature does not verify"))
        sys.exit(1)
