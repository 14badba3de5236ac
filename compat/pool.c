/*
 * pool.c - sitemail-smtpd's pre-forked session workers; see pool.h.
 *
 * Shared memory (anonymous, MAP_SHARED, made before the first fork) holds
 * one slot per worker: its pid, whether it is in a session, and the site
 * it serves.  A process-shared robust mutex guards the check "this site
 * holds fewer than max_per_site sessions" together with taking the slot,
 * so two workers accepting the same site at once cannot both pass; a
 * worker that dies holding it (the session's total timeout is SIGALRM)
 * leaves it to the next locker, and the parent clears a dead worker's
 * slot.  The parent keeps POOL_MIN_IDLE workers idle (woken by a byte on
 * a pipe whenever a worker takes a connection), so one site's stalled
 * sessions never hold up another site's connection.  A worker serves
 * POOL_MAX_USE sessions, or idles POOL_IDLE_EXIT seconds while enough
 * others idle too, and then exits.
 *
 * Reload: when ops->tick() in the parent reports a new configuration, the
 * generation in shared memory goes up.  A worker of an older generation
 * finishes the session it is in (or its wait for one, at most a second)
 * and exits; the parent meanwhile starts idle workers of the new one,
 * which are forked from its new configuration.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compat/pool.h"
#include "util/msg.h"

#define POOL_MAX	1024		/* workers */
#define POOL_MIN_IDLE	4
#define POOL_MAX_USE	1000		/* sessions per worker */
#define POOL_IDLE_EXIT	60		/* seconds */
#define POOL_MAXFDS	16

struct pool_slot {
	pid_t	 pid;			/* 0 = free */
	int	 busy;			/* in a connection */
	unsigned gen;			/* configuration generation */
	char	 site[POOL_SITE_MAX + 1];	/* "" = no site counted */
};

struct pool_shm {
	pthread_mutex_t mu;
	unsigned gen;			/* the parent's configuration */
	struct pool_slot slot[POOL_MAX];
};

static struct pool_shm *pool_shm;
static int pool_wake[2] = { -1, -1 };	/* worker -> parent: "took one" */

/* pool_lock - take the shared mutex, repairing it after a dead owner. */
static void
pool_lock(void)
{
	if (pthread_mutex_lock(&pool_shm->mu) == EOWNERDEAD)
		pthread_mutex_consistent(&pool_shm->mu);
}

/* pool_unlock - release the shared mutex. */
static void
pool_unlock(void)
{
	pthread_mutex_unlock(&pool_shm->mu);
}

/* pool_count - workers in a session of site (under the lock). */
static unsigned
pool_count(const char *site)
{
	unsigned n = 0;
	size_t	 i;

	for (i = 0; i < POOL_MAX; i++)
		n += pool_shm->slot[i].pid != 0 &&
		    strcmp(pool_shm->slot[i].site, site) == 0;
	return n;
}

/* pool_gen - the current configuration generation. */
static unsigned
pool_gen(void)
{
	return __atomic_load_n(&pool_shm->gen, __ATOMIC_ACQUIRE);
}

/* pool_idle - workers of the current generation, alive and not in a
 * connection. */
static unsigned
pool_idle(void)
{
	unsigned n = 0, gen = pool_gen();
	size_t	 i;

	for (i = 0; i < POOL_MAX; i++)
		n += pool_shm->slot[i].pid != 0 && !pool_shm->slot[i].busy &&
		    pool_shm->slot[i].gen == gen;
	return n;
}

/* pool_accept - wait up to a second for a connection on any socket. */
static int
pool_accept(const struct pool_ops *ops)
{
	struct pollfd pfd[POOL_MAXFDS];
	size_t	 i, n = ops->nlfd < POOL_MAXFDS ? ops->nlfd : POOL_MAXFDS;
	int	 fd;

	for (i = 0; i < n; i++) {
		pfd[i].fd = ops->lfd[i];
		pfd[i].events = POLLIN;
	}
	if (poll(pfd, n, 1000) <= 0)
		return -1;
	for (i = 0; i < n; i++)
		if ((pfd[i].revents & POLLIN) && (fd = accept4(ops->lfd[i],
		    NULL, NULL, SOCK_CLOEXEC)) >= 0)
			return fd;
	return -1;
}

/* pool_serve - one connection in worker slot s. */
static void
pool_serve(const struct pool_ops *ops, struct pool_slot *s, int fd)
{
	char	 site[POOL_SITE_MAX + 1];
	unsigned n;

	s->busy = 1;
	if (write(pool_wake[1], "", 1) < 0) {
		/* the pipe is full: the parent is awake anyway */
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (ops->identify(ops->ctx, fd, site, sizeof(site)) == 0) {
		pool_lock();
		if ((n = pool_count(site)) >= *ops->max_per_site) {
			pool_unlock();
			ops->too_many(ops->ctx, fd, site, n);
		} else {
			memcpy(s->site, site, sizeof(s->site));
			pool_unlock();
			ops->session(ops->ctx, fd);
			pool_lock();
			s->site[0] = '\0';
			pool_unlock();
		}
	}
	close(fd);
	s->busy = 0;
}

/* pool_worker - accept and serve until used up, idle too long, told to
 * stop or of an old configuration. */
static void __attribute__((noreturn))
pool_worker(const struct pool_ops *ops, struct pool_slot *s)
{
	unsigned served = 0;
	time_t	 last = time(NULL);
	int	 fd;

	close(pool_wake[0]);
	while (!*ops->stop && served < POOL_MAX_USE && s->gen == pool_gen()) {
		if ((fd = pool_accept(ops)) >= 0) {
			pool_serve(ops, s, fd);
			served++;
			last = time(NULL);
		} else if (time(NULL) - last > POOL_IDLE_EXIT &&
		    pool_idle() > 2 * POOL_MIN_IDLE)
			break;
	}
	_exit(0);
}

/* pool_spawn - a new worker in a free slot; -1 if none or fork failed. */
static int
pool_spawn(const struct pool_ops *ops)
{
	struct pool_slot *s = NULL;
	size_t	 i;
	pid_t	 pid;

	for (i = 0; i < POOL_MAX && s == NULL; i++)
		if (pool_shm->slot[i].pid == 0)
			s = &pool_shm->slot[i];
	if (s == NULL)
		return -1;
	s->busy = 0;
	s->site[0] = '\0';
	s->gen = pool_gen();
	s->pid = -1;			/* taken; the pid follows */
	if ((pid = fork()) < 0) {
		s->pid = 0;
		log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		s->pid = getpid();
		pool_worker(ops, s);
	}
	s->pid = pid;
	return 0;
}

/* pool_reap - free the slots of workers that exited. */
static void
pool_reap(void)
{
	pid_t	 pid;
	size_t	 i;
	int	 st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (i = 0; i < POOL_MAX; i++)
			if (pool_shm->slot[i].pid == pid) {
				pool_lock();
				pool_shm->slot[i].site[0] = '\0';
				pool_shm->slot[i].busy = 0;
				pool_shm->slot[i].pid = 0;
				pool_unlock();
				break;
			}
}

/* pool_setup - the shared slots and their mutex, and the wake pipe. */
static int
pool_setup(void)
{
	pthread_mutexattr_t a;

	pool_shm = mmap(NULL, sizeof(*pool_shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (pool_shm == MAP_FAILED)
		return err_set(EX_OSERR, "mmap: %s", strerror(errno));
	if (pipe2(pool_wake, O_CLOEXEC | O_NONBLOCK) < 0)
		return err_set(EX_OSERR, "pipe: %s", strerror(errno));
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (pthread_mutex_init(&pool_shm->mu, &a) != 0)
		return err_set(EX_OSERR, "cannot make the shared mutex");
	pthread_mutexattr_destroy(&a);
	return 0;
}

/* pool_run - the parent: keep POOL_MIN_IDLE workers idle until stopped. */
int
pool_run(const struct pool_ops *ops)
{
	struct pollfd pfd;
	char	 buf[256];
	size_t	 i;
	int	 rc;

	if ((rc = pool_setup()) != 0)
		return rc;
	pfd.fd = pool_wake[0];
	pfd.events = POLLIN;
	while (!*ops->stop) {
		if (ops->tick != NULL && ops->tick(ops->ctx) == 1)
			__atomic_add_fetch(&pool_shm->gen, 1, __ATOMIC_RELEASE);
		pool_reap();
		for (i = pool_idle(); i < POOL_MIN_IDLE; i++)
			if (pool_spawn(ops) < 0)
				break;
		if (poll(&pfd, 1, 500) > 0)
			while (read(pool_wake[0], buf, sizeof(buf)) > 0)
				;
	}
	for (i = 0; i < POOL_MAX; i++)
		if (pool_shm->slot[i].pid > 0)
			kill(pool_shm->slot[i].pid, SIGTERM);
	return 0;
}
