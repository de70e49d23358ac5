/*
 * merkle.h - the audit log as a Merkle tree, exactly as RFC 6962 §2.1
 * (RFC 9162 §2.1) defines it: leaf hash SHA-256(0x00 || record), node
 * hash SHA-256(0x01 || left || right), the tree of n leaves split at the
 * largest power of two below n. Inclusion and consistency proofs are
 * made from the leaf hashes and checked with the verification algorithms
 * of RFC 9162 §2.1.3.2 and §2.1.4.2, so an auditor's tool written from
 * the RFC agrees with ours. Pure: no I/O, no allocation.
 */
#ifndef HSMAGENT_MERKLE_H
#define HSMAGENT_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#define MERKLE_HASH_LEN		32
#define MERKLE_MAX_PROOF	64	/* hashes in a proof of a 2^63 tree */

typedef uint8_t merkle_hash[MERKLE_HASH_LEN];

void	merkle_leaf(const void *data, size_t len, merkle_hash out);
/*
 * The same with the caller's context and SHA-256 (fetched once): no
 * fetch and no allocation per leaf, for the agent's signing path.
 */
void	merkle_leaf_with(EVP_MD_CTX *, const EVP_MD *sha256,
	    const void *data, size_t len, merkle_hash out);
void	merkle_node(const merkle_hash left, const merkle_hash right,
	    merkle_hash out);
/* MTH of leaves[0..n); n 0: SHA-256 of the empty string. */
void	merkle_root(const merkle_hash *leaves, uint64_t n, merkle_hash out);

/*
 * The audit path of leaf index in a tree of size leaves (RFC 6962
 * §2.1.1): its hashes into path, their number returned; -1 if index is
 * not below size or max is too small.
 */
int	merkle_inclusion_proof(const merkle_hash *leaves, uint64_t size,
	    uint64_t index, merkle_hash *path, size_t max);
/* The consistency proof from old to size (§2.1.2); -1 as above. */
int	merkle_consistency_proof(const merkle_hash *leaves, uint64_t size,
	    uint64_t old, merkle_hash *path, size_t max);

/* 1 if path proves leaf at index in the tree of size with root. */
int	merkle_verify_inclusion(const merkle_hash leaf, uint64_t index,
	    uint64_t size, const merkle_hash *path, size_t n,
	    const merkle_hash root);
/* 1 if path proves the tree old_root (old) is a prefix of root (size). */
int	merkle_verify_consistency(uint64_t old, uint64_t size,
	    const merkle_hash old_root, const merkle_hash root,
	    const merkle_hash *path, size_t n);

/*
 * The tree as it grows, one leaf at a time, in O(log n) space: the roots
 * of the perfect subtrees along its right edge (a "compact range"), so
 * the writer keeps the root current without keeping the leaves.
 */
struct merkle_frontier {
	uint64_t	size;
	merkle_hash	h[64];	/* h[k]: subtree of 2^k leaves, if bit k set */
};

void	merkle_frontier_init(struct merkle_frontier *);
void	merkle_frontier_add(struct merkle_frontier *, const merkle_hash leaf);
void	merkle_frontier_root(const struct merkle_frontier *, merkle_hash out);
/*
 * The audit path of leaf m = left->size in the tree of size leaves, from
 * the frontier as it was before leaf m was added and the leaves from m
 * on (right[0] is leaf m, size - m of them): what the writer can keep
 * for a record until the next checkpoint, without the leaves before it.
 * The same path as merkle_inclusion_proof; -1 as there.
 */
int	merkle_inclusion_proof_at(const struct merkle_frontier *left,
	    const merkle_hash *right, uint64_t size, merkle_hash *path,
	    size_t max);

#endif
