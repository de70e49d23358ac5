/* TEMPORARY: replaced by the http-01 branch */
#ifndef HSMAGENT_ACME_HTTP01_SERVER_H
#define HSMAGENT_ACME_HTTP01_SERVER_H
struct child;
int	http01_available(const struct child *);
int	http01_token_add(struct child *, const char *token, const char *key_authorization);
void	http01_token_del(struct child *, const char *token);
#endif
