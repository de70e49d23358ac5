/*
 * merkle.c - see merkle.h.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "merkle.h"

void
merkle_leaf_with(EVP_MD_CTX *md, const EVP_MD *sha256, const void *data,
    size_t len, merkle_hash out)
{
	static const uint8_t	 zero = 0x00;
	unsigned int		 n = 0;

	if (md == NULL || EVP_DigestInit_ex(md, sha256, NULL) != 1 ||
	    EVP_DigestUpdate(md, &zero, 1) != 1 ||
	    EVP_DigestUpdate(md, data, len) != 1 ||
	    EVP_DigestFinal_ex(md, out, &n) != 1)
		memset(out, 0, MERKLE_HASH_LEN);	/* never matches a root */
}

void
merkle_leaf(const void *data, size_t len, merkle_hash out)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	merkle_leaf_with(md, EVP_sha256(), data, len, out);
	EVP_MD_CTX_free(md);
}

void
merkle_node(const merkle_hash left, const merkle_hash right, merkle_hash out)
{
	uint8_t buf[1 + 2 * MERKLE_HASH_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, left, MERKLE_HASH_LEN);
	memcpy(buf + 1 + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
	SHA256(buf, sizeof(buf), out);
}

/* The largest power of two smaller than n (n > 1). */
static uint64_t
split(uint64_t n)
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

void
merkle_root(const merkle_hash *leaves, uint64_t n, merkle_hash out)
{
	merkle_hash	 l, r;
	uint64_t	 k;

	if (n == 0) {
		SHA256((const uint8_t *)"", 0, out);
		return;
	}
	if (n == 1) {
		memcpy(out, leaves[0], MERKLE_HASH_LEN);
		return;
	}
	k = split(n);
	merkle_root(leaves, k, l);
	merkle_root(leaves + k, n - k, r);
	merkle_node(l, r, out);
}

/* PATH(m, D[0:n]), appended at path[*len]; -1 when max is reached. */
static int
path_of(const merkle_hash *d, uint64_t n, uint64_t m, merkle_hash *path,
    size_t *len, size_t max)
{
	uint64_t k;

	if (n <= 1)
		return 0;
	k = split(n);
	if (m < k) {
		if (path_of(d, k, m, path, len, max) == -1 || *len >= max)
			return -1;
		merkle_root(d + k, n - k, path[(*len)++]);
	} else {
		if (path_of(d + k, n - k, m - k, path, len, max) == -1 ||
		    *len >= max)
			return -1;
		merkle_root(d, k, path[(*len)++]);
	}
	return 0;
}

int
merkle_inclusion_proof(const merkle_hash *leaves, uint64_t size,
    uint64_t index, merkle_hash *path, size_t max)
{
	size_t len = 0;

	if (index >= size || path_of(leaves, size, index, path, &len, max) ==
	    -1)
		return -1;
	return (int)len;
}

/*
 * PATH(m, D[lo:hi]) from the frontier at m (the perfect subtrees left of
 * m: RFC 6962's splits are aligned, so every left sibling is one of
 * them) and the leaves from m on (right[0] is leaf m).
 */
static int
path_split(const struct merkle_frontier *left, const merkle_hash *right,
    uint64_t lo, uint64_t hi, merkle_hash *path, size_t *len, size_t max)
{
	uint64_t	 k, m = left->size;
	int		 lvl = 0;

	if (hi - lo <= 1)
		return 0;
	k = split(hi - lo);
	if (m < lo + k) {
		if (path_split(left, right, lo, lo + k, path, len, max) == -1 ||
		    *len >= max)
			return -1;
		merkle_root(right + (lo + k - m), hi - lo - k, path[(*len)++]);
		return 0;
	}
	if (path_split(left, right, lo + k, hi, path, len, max) == -1 ||
	    *len >= max)
		return -1;
	while (((uint64_t)1 << lvl) < k)
		lvl++;
	/* [lo, lo + k) ends at or before m and m's bit lvl is set. */
	if (!(m >> lvl & 1))
		return -1;
	memcpy(path[(*len)++], left->h[lvl], MERKLE_HASH_LEN);
	return 0;
}

int
merkle_inclusion_proof_at(const struct merkle_frontier *left,
    const merkle_hash *right, uint64_t size, merkle_hash *path, size_t max)
{
	size_t len = 0;

	if (left->size >= size || path_split(left, right, 0, size, path, &len,
	    max) == -1)
		return -1;
	return (int)len;
}

/* SUBPROOF(m, D[0:n], b), RFC 6962 §2.1.2. */
static int
subproof(const merkle_hash *d, uint64_t n, uint64_t m, int whole,
    merkle_hash *path, size_t *len, size_t max)
{
	uint64_t k;

	if (m == n) {
		if (whole)
			return 0;
		if (*len >= max)
			return -1;
		merkle_root(d, n, path[(*len)++]);
		return 0;
	}
	k = split(n);
	if (m <= k) {
		if (subproof(d, k, m, whole, path, len, max) == -1 ||
		    *len >= max)
			return -1;
		merkle_root(d + k, n - k, path[(*len)++]);
	} else {
		if (subproof(d + k, n - k, m - k, 0, path, len, max) == -1 ||
		    *len >= max)
			return -1;
		merkle_root(d, k, path[(*len)++]);
	}
	return 0;
}

int
merkle_consistency_proof(const merkle_hash *leaves, uint64_t size,
    uint64_t old, merkle_hash *path, size_t max)
{
	size_t len = 0;

	if (old > size)
		return -1;
	if (old == 0 || old == size)
		return 0;
	if (subproof(leaves, size, old, 1, path, &len, max) == -1)
		return -1;
	return (int)len;
}

/* Right-shifts fn and sn until fn's low bit is set or fn is 0. */
static void
shift_to_set(uint64_t *fn, uint64_t *sn)
{
	while ((*fn & 1) == 0 && *fn != 0) {
		*fn >>= 1;
		*sn >>= 1;
	}
}

/* RFC 9162 §2.1.3.2. */
int
merkle_verify_inclusion(const merkle_hash leaf, uint64_t index, uint64_t size,
    const merkle_hash *path, size_t n, const merkle_hash root)
{
	merkle_hash	 r;
	uint64_t	 fn = index, sn;

	if (index >= size || n > MERKLE_MAX_PROOF)
		return 0;
	sn = size - 1;
	memcpy(r, leaf, MERKLE_HASH_LEN);
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return 0;
		if ((fn & 1) || fn == sn) {
			merkle_node(path[i], r, r);
			if ((fn & 1) == 0)
				shift_to_set(&fn, &sn);
		} else
			merkle_node(r, path[i], r);
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(r, root, MERKLE_HASH_LEN) == 0;
}

/* RFC 9162 §2.1.4.2, with the two trivial cases first. */
int
merkle_verify_consistency(uint64_t old, uint64_t size,
    const merkle_hash old_root, const merkle_hash root,
    const merkle_hash *path, size_t n)
{
	merkle_hash	 fr, sr, empty;
	uint64_t	 fn, sn;
	size_t		 i = 0;

	if (old > size || n > MERKLE_MAX_PROOF)
		return 0;
	if (old == size)
		return n == 0 && memcmp(old_root, root, MERKLE_HASH_LEN) == 0;
	if (old == 0) {
		merkle_root(NULL, 0, empty);
		return n == 0 && memcmp(old_root, empty, MERKLE_HASH_LEN) == 0;
	}
	if (n == 0)
		return 0;
	/* old a power of two: the old root itself starts the path. */
	if ((old & (old - 1)) == 0)
		memcpy(fr, old_root, MERKLE_HASH_LEN);
	else
		memcpy(fr, path[i++], MERKLE_HASH_LEN);
	memcpy(sr, fr, MERKLE_HASH_LEN);
	fn = old - 1;
	sn = size - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < n; i++) {
		if (sn == 0)
			return 0;
		if ((fn & 1) || fn == sn) {
			merkle_node(path[i], fr, fr);
			merkle_node(path[i], sr, sr);
			if ((fn & 1) == 0)
				shift_to_set(&fn, &sn);
		} else
			merkle_node(sr, path[i], sr);
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(fr, old_root, MERKLE_HASH_LEN) == 0 &&
	    memcmp(sr, root, MERKLE_HASH_LEN) == 0;
}

void
merkle_frontier_init(struct merkle_frontier *f)
{
	memset(f, 0, sizeof(*f));
}

void
merkle_frontier_add(struct merkle_frontier *f, const merkle_hash leaf)
{
	merkle_hash	 carry;
	int		 k = 0;

	memcpy(carry, leaf, MERKLE_HASH_LEN);
	while (k < 63 && (f->size >> k) & 1) {
		merkle_node(f->h[k], carry, carry);
		k++;
	}
	memcpy(f->h[k], carry, MERKLE_HASH_LEN);
	f->size++;
}

void
merkle_frontier_root(const struct merkle_frontier *f, merkle_hash out)
{
	int have = 0;

	if (f->size == 0) {
		merkle_root(NULL, 0, out);
		return;
	}
	for (int k = 0; k < 64; k++) {
		if (!((f->size >> k) & 1))
			continue;
		if (!have)
			memcpy(out, f->h[k], MERKLE_HASH_LEN);
		else
			merkle_node(f->h[k], out, out);
		have = 1;
	}
}
