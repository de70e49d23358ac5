/*
 * p11uri.h - the subset of RFC 7512 "pkcs11:" URIs that selects one
 * private key on one token.
 *
 * Accepted path attributes: token, manufacturer, serial, model (token
 * selection), object, id (key selection), type (must be "private").
 * Values are percent-decoded. Rejected, with a message saying why:
 * slot-* (slot numbers move between runs), pin-value / pin-source (the
 * PIN comes from a file only), module-name / module-path (the module
 * comes from the config), any unknown attribute, a repeated attribute.
 * At least one token attribute and one of object/id are required.
 */
#ifndef HSMAGENT_P11URI_H
#define HSMAGENT_P11URI_H

#include <stddef.h>

#define P11URI_MAX_LEN		1024
#define P11URI_MAX_ID		128

struct p11uri {
	char		*token;		/* CK_TOKEN_INFO label, NULL if absent */
	char		*manufacturer;
	char		*serial;
	char		*model;
	char		*object;	/* CKA_LABEL */
	unsigned char	 id[P11URI_MAX_ID];
	size_t		 id_len;	/* 0 if no id attribute */
};

int	p11uri_parse(const char *uri, struct p11uri *, char *err, size_t errlen);
void	p11uri_free(struct p11uri *);

#endif
