/*
 * tlsin.c - server-side TLS for sitemail-smtpd's STARTTLS; see tlsin.h.
 * One SSL_CTX per process (TLS 1.2 and newer), one SSL per session; the
 * socket's own SO_RCVTIMEO / SO_SNDTIMEO bound every read and write.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>

#include "compat/tlsin.h"
#include "util/msg.h"

static SSL_CTX *tlsin_ctx;
static SSL *tlsin_ssl;			/* the session's, until tlsin_done() */

/* tlsin_init - the server context with cert and key. */
int
tlsin_init(const char *cert, const char *key)
{
	char	 why[256];

	if ((tlsin_ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return err_set(EX_SOFTWARE, "TLS: cannot make a context");
	(void)SSL_CTX_set_min_proto_version(tlsin_ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(tlsin_ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(tlsin_ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(tlsin_ctx) != 1) {
		ERR_error_string_n(ERR_get_error(), why, sizeof(why));
		SSL_CTX_free(tlsin_ctx);
		tlsin_ctx = NULL;
		return err_set(EX_CONFIG, "TLS: cannot load %s / %s: %s",
		    cert, key, why);
	}
	return 0;
}

/* tlsin_errno - map an SSL failure to errno; always -1. */
static ssize_t
tlsin_errno(SSL *ssl, int r)
{
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		break;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			errno = ECONNRESET;
		break;
	default:
		errno = EPROTO;
	}
	return -1;
}

/* tlsin_read - smtpin_io.rd over SSL. */
static ssize_t
tlsin_read(void *ioctx, void *buf, size_t n)
{
	int	 r;

	errno = 0;
	if ((r = SSL_read(ioctx, buf, n > INT32_MAX ? INT32_MAX :
	    (int)n)) > 0)
		return r;
	return tlsin_errno(ioctx, r);
}

/* tlsin_write - smtpin_io.wr over SSL. */
static ssize_t
tlsin_write(void *ioctx, const void *buf, size_t n)
{
	int	 r;

	errno = 0;
	if ((r = SSL_write(ioctx, buf, n > INT32_MAX ? INT32_MAX :
	    (int)n)) > 0)
		return r;
	(void)tlsin_errno(ioctx, r);
	return -1;
}

/* tlsin_starttls - the handshake on fd; fills io. */
int
tlsin_starttls(void *ctx, int fd, struct smtpin_io *io)
{
	SSL	*ssl;

	(void)ctx;
	if (tlsin_ctx == NULL || (ssl = SSL_new(tlsin_ctx)) == NULL)
		return -1;
	if (SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
		log_warn("TLS handshake failed");
		SSL_free(ssl);
		return -1;
	}
	io->rd = tlsin_read;
	io->wr = tlsin_write;
	io->ioctx = ssl;
	tlsin_ssl = ssl;
	return 0;
}

/* tlsin_done - close and free the session's TLS state, if any. */
void
tlsin_done(void)
{
	if (tlsin_ssl == NULL)
		return;
	(void)SSL_shutdown(tlsin_ssl);
	SSL_free(tlsin_ssl);
	tlsin_ssl = NULL;
}
