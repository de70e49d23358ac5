/*
 * test_merkle.c - the audit tree against RFC 6962's published vectors
 * (the Certificate Transparency reference leaves: roots of sizes 0 to 8,
 * inclusion and consistency proofs), then every proof of every tree up
 * to 70 leaves made and checked, each one broken and refused, and the
 * growing frontier equal to the tree at every size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "merkle.h"

static const struct {
	const char	*hex;
} leaf_data[8] = {
	{ "" }, { "00" }, { "10" }, { "2021" }, { "3031" }, { "40414243" },
	{ "5051525354555657" }, { "606162636465666768696a6b6c6d6e6f" },
};

static const char *const roots[9] = {
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static size_t
unhex(const char *h, uint8_t *out)
{
	size_t n = strlen(h) / 2;

	for (size_t i = 0; i < n; i++)
		sscanf(h + 2 * i, "%2hhx", &out[i]);
	return n;
}

static merkle_hash	 ct[8];

static int
setup(void **state)
{
	uint8_t	 buf[32];

	(void)state;
	for (int i = 0; i < 8; i++)
		merkle_leaf(buf, unhex(leaf_data[i].hex, buf), ct[i]);
	return 0;
}

static void
assert_hash(const merkle_hash h, const char *hex)
{
	uint8_t want[MERKLE_HASH_LEN];

	unhex(hex, want);
	assert_memory_equal(h, want, MERKLE_HASH_LEN);
}

static void
test_published_roots(void **state)
{
	struct merkle_frontier	 f;
	merkle_hash		 r;

	(void)state;
	merkle_frontier_init(&f);
	for (uint64_t n = 0; n <= 8; n++) {
		merkle_root(ct, n, r);
		assert_hash(r, roots[n]);
		merkle_frontier_root(&f, r);
		assert_hash(r, roots[n]);
		if (n < 8)
			merkle_frontier_add(&f, ct[n]);
	}
}

static void
test_published_proofs(void **state)
{
	static const struct {
		uint64_t	 a, size;
		const char	*p[3];
		int		 consistency;
	} v[] = {
		{ 0, 8, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" }, 0 },
		{ 5, 8, { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" }, 0 },
		{ 1, 8, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" }, 1 },
		{ 6, 8, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
		    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" }, 1 },
		{ 2, 5, { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		    NULL }, 1 },
	};
	merkle_hash	 path[MERKLE_MAX_PROOF], r, old;
	int		 n;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = v[i].consistency ?
		    merkle_consistency_proof(ct, v[i].size, v[i].a, path,
		    MERKLE_MAX_PROOF) :
		    merkle_inclusion_proof(ct, v[i].size, v[i].a, path,
		    MERKLE_MAX_PROOF);
		assert_int_equal(n, v[i].p[2] ? 3 : 2);
		for (int k = 0; k < n; k++)
			assert_hash(path[k], v[i].p[k]);
		merkle_root(ct, v[i].size, r);
		if (v[i].consistency) {
			merkle_root(ct, v[i].a, old);
			assert_true(merkle_verify_consistency(v[i].a,
			    v[i].size, old, r, path, (size_t)n));
		} else
			assert_true(merkle_verify_inclusion(ct[v[i].a], v[i].a,
			    v[i].size, path, (size_t)n, r));
	}
}

/* Every proof of every tree up to 70 leaves; each broken one refused. */
static void
test_all_proofs(void **state)
{
	static merkle_hash	 leaves[71], roots_[72];
	merkle_hash		 path[MERKLE_MAX_PROOF], bad;
	uint8_t			 b[2];
	int			 n;

	(void)state;
	for (int i = 0; i < 71; i++) {
		b[0] = (uint8_t)i;
		b[1] = (uint8_t)(i * 7);
		merkle_leaf(b, 2, leaves[i]);
	}
	for (uint64_t s = 0; s <= 71; s++)
		merkle_root(leaves, s, roots_[s]);
	for (uint64_t s = 1; s <= 70; s++) {
		for (uint64_t i = 0; i < s; i++) {
			n = merkle_inclusion_proof(leaves, s, i, path,
			    MERKLE_MAX_PROOF);
			assert_true(n >= 0);
			assert_true(merkle_verify_inclusion(leaves[i], i, s,
			    path, (size_t)n, roots_[s]));
			/* Another leaf, the next tree, or a hash changed. */
			assert_false(merkle_verify_inclusion(leaves[(i + 1) %
			    s], i, s, path, (size_t)n, roots_[s]) && s > 1);
			assert_false(merkle_verify_inclusion(leaves[i], i, s + 1,
			    path, (size_t)n, roots_[s + 1]));
			if (n > 0) {
				path[n - 1][0] ^= 1;
				assert_false(merkle_verify_inclusion(leaves[i],
				    i, s, path, (size_t)n, roots_[s]));
				assert_false(merkle_verify_inclusion(leaves[i],
				    i, s, path, (size_t)n - 1, roots_[s]));
			}
		}
		for (uint64_t o = 0; o <= s; o++) {
			n = merkle_consistency_proof(leaves, s, o, path,
			    MERKLE_MAX_PROOF);
			assert_true(n >= 0);
			assert_true(merkle_verify_consistency(o, s, roots_[o],
			    roots_[s], path, (size_t)n));
			/* A rewritten past: the old root of another tree. */
			memcpy(bad, roots_[o], sizeof(bad));
			bad[5] ^= 0x80;
			assert_false(merkle_verify_consistency(o, s, bad,
			    roots_[s], path, (size_t)n));
			if (o > 0 && o < s) {
				path[0][0] ^= 1;
				assert_false(merkle_verify_consistency(o, s,
				    roots_[o], roots_[s], path, (size_t)n));
			}
		}
	}
	assert_int_equal(merkle_inclusion_proof(leaves, 5, 5, path, 64), -1);
	assert_int_equal(merkle_inclusion_proof(leaves, 64, 3, path, 5), -1);
	assert_int_equal(merkle_consistency_proof(leaves, 5, 6, path, 64), -1);
}

/* The growing frontier equals the tree at every size. */
static void
test_frontier(void **state)
{
	static merkle_hash	 leaves[300];
	struct merkle_frontier	 f;
	merkle_hash		 a, b;
	uint8_t			 d[4];

	(void)state;
	merkle_frontier_init(&f);
	for (int i = 0; i < 300; i++) {
		memcpy(d, &i, sizeof(d));
		merkle_leaf(d, sizeof(d), leaves[i]);
		merkle_frontier_add(&f, leaves[i]);
		merkle_frontier_root(&f, a);
		merkle_root(leaves, (uint64_t)i + 1, b);
		assert_memory_equal(a, b, MERKLE_HASH_LEN);
	}
}

/*
 * The path from the frontier at m and the leaves from m on is the path
 * from all the leaves, for every leaf of every tree to 130 leaves.
 */
static void
test_proof_at(void **state)
{
	static merkle_hash	 leaves[130];
	struct merkle_frontier	 f;
	merkle_hash		 want[MERKLE_MAX_PROOF], got[MERKLE_MAX_PROOF];
	uint8_t			 d[4];
	int			 n, m;

	(void)state;
	for (int i = 0; i < 130; i++) {
		memcpy(d, &i, sizeof(d));
		merkle_leaf(d, sizeof(d), leaves[i]);
	}
	for (uint64_t s = 1; s <= 130; s++) {
		merkle_frontier_init(&f);
		for (uint64_t i = 0; i < s; i++) {
			n = merkle_inclusion_proof(leaves, s, i, want,
			    MERKLE_MAX_PROOF);
			m = merkle_inclusion_proof_at(&f, leaves + i, s, got,
			    MERKLE_MAX_PROOF);
			assert_int_equal(n, m);
			assert_memory_equal(want, got, (size_t)n *
			    MERKLE_HASH_LEN);
			merkle_frontier_add(&f, leaves[i]);
		}
		/* The frontier at s: no leaf s in a tree of s. */
		assert_int_equal(merkle_inclusion_proof_at(&f, leaves, s, got,
		    MERKLE_MAX_PROOF), -1);
	}
	merkle_frontier_init(&f);
	for (int i = 0; i < 100; i++)
		merkle_frontier_add(&f, leaves[i]);
	assert_int_equal(merkle_inclusion_proof_at(&f, leaves + 100, 130, got,
	    3), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_published_roots, setup),
		cmocka_unit_test_setup(test_published_proofs, setup),
		cmocka_unit_test(test_all_proofs),
		cmocka_unit_test(test_frontier),
		cmocka_unit_test(test_proof_at),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
