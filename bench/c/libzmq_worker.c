/* The worker of ferrozmq-bench's `libzmq+sodium` column: the system's libzmq (Debian's
 * libzmq5, built with libsodium, so with CURVE), which the `zmq` crate's bundled build (the
 * `libzmq` column) is not. Built by bench/build.rs (`cc -O2 ... -lzmq`); the orchestrator
 * starts it with a Rust worker's arguments (`Job::to_args` in bench/src/worker.rs) and it
 * speaks the same protocol: one JSON object per line on stdout, `{"endpoint":...}` first from
 * a binding role, the result line last, with the Rust workers' field names and `cpu_ns`;
 * a sender, once done, waits for a line or end of input on stdin before it exits.
 *
 *   libzmq_worker --lib L --role R --transport T [--endpoint E] --size N --count N
 *                 [--threads 1] [--clients N]
 *   libzmq_worker --version       prints the library's version (4.3.4)
 *
 * Roles: thr-recv, thr-send, lat-echo, lat-ping, curve-handshakes; transports: tcp, tcp-curve
 * (the binding side is the CURVE server, with the suite's fixed keys as in libs/ferro.rs:
 * secret keys of 32 bytes 0x01 (server) and 0x02 (client)), ipc. Another role or transport:
 * "not supported: ..." on stderr and exit status 1, which the orchestrator shows as n/a.
 * Every libzmq call is checked; a failure is reported on stderr, exit status 1.
 *
 * Methods are libzmq's perf tools' (local_thr, remote_thr, local_lat, remote_lat) and the Rust
 * workers': the receiver times from the first message to the last; every send builds a new
 * message (zmq_msg_init_size); latency is half the round trip of REQ/REP, after WARM_UP
 * untimed round trips; `cpu_ns` is the process's CPU time (CLOCK_PROCESS_CPUTIME_ID, all its
 * threads, libzmq's I/O thread included) from the start of the measured work to the end,
 * the sockets' and the context's teardown included. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

/* Untimed round trips (and handshakes) before the measured ones: worker::WARM_UP. */
#define WARM_UP 100

enum role { THR_RECV, THR_SEND, LAT_ECHO, LAT_PING, CURVE_HANDSHAKES, OTHER_ROLE };
enum transport { TCP, TCP_CURVE, IPC, OTHER_TRANSPORT };

struct job {
    const char *role_name, *transport_name, *endpoint;
    enum role role;
    enum transport transport;
    size_t size;
    uint64_t count, threads;
};

/* A result line under construction: flat JSON, numbers as integers or fixed decimals. */
struct line {
    char text[512];
    size_t len;
};

static void *ctx;
/* The process's CPU time when the measured work started; -1 until then. */
static int64_t work_started = -1;

static _Noreturn void die(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    fputs("libzmq_worker: ", stderr);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    va_end(args);
    exit(1);
}

/* A libzmq call's result: -1 is a failure, reported with libzmq's text for errno. */
static int check(int rc, const char *what) {
    if (rc == -1)
        die("%s: %s", what, zmq_strerror(zmq_errno()));
    return rc;
}

static void *check_ptr(void *p, const char *what) {
    if (!p)
        die("%s: %s", what, zmq_strerror(zmq_errno()));
    return p;
}

static int64_t clock_ns(clockid_t clock) {
    struct timespec t;
    if (clock_gettime(clock, &t) != 0)
        die("clock_gettime: %s", strerror(errno));
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Marks the start of the measured work; the first call counts (worker::work_starts). */
static void work_starts(void) {
    if (work_started < 0)
        work_started = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

static void add(struct line *l, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    size_t room = sizeof l->text - l->len;
    int n = vsnprintf(l->text + l->len, room, fmt, args);
    va_end(args);
    if (n < 0 || (size_t)n >= room)
        die("result line too long");
    l->len += (size_t)n;
}

static void add_key(struct line *l, const char *key) {
    add(l, "%s\"%s\":", l->len ? "," : "", key);
}

static void add_int(struct line *l, const char *key, uint64_t value) {
    add_key(l, key);
    add(l, "%" PRIu64, value);
}

/* `value` thousandths (or hundredths, with 2 decimals) as a decimal number. */
static void add_fixed(struct line *l, const char *key, uint64_t value, int decimals) {
    uint64_t scale = decimals == 2 ? 100 : 1000;
    add_key(l, key);
    add(l, "%" PRIu64 ".%0*" PRIu64, value / scale, decimals, value % scale);
}

/* A JSON string value: escapes `"` and `\` as json.rs reads them. */
static void add_text(struct line *l, const char *key, const char *value) {
    add_key(l, key);
    add(l, "\"");
    for (const char *c = value; *c; c++) {
        if (*c == '"' || *c == '\\')
            add(l, "\\");
        add(l, "%c", *c);
    }
    add(l, "\"");
}

/* Prints a line for the orchestrator, which reads line by line. */
static void say(const struct line *l) {
    printf("{%s}\n", l->text);
    if (fflush(stdout) != 0)
        die("writing stdout: %s", strerror(errno));
}

/* Blocks until the orchestrator sends a line or closes stdin (worker::wait_for_orchestrator). */
static void wait_for_orchestrator(void) {
    char buf[256];
    if (!fgets(buf, sizeof buf, stdin) && ferror(stdin))
        die("reading stdin: %s", strerror(errno));
}

static _Noreturn void not_supported(const struct job *job, const char *why) {
    fprintf(stderr, "not supported: libzmq+sodium cannot play %s over %s%s%s\n",
            job->role_name, job->transport_name, why ? ": " : "", why ? why : "");
    exit(1);
}

/* The suite's fixed CURVE keys in Z85 (libs/ferro.rs `curve_keys`): secret keys of 32 bytes
 * 0x01 (server) and 0x02 (client), public keys derived by libzmq. */
struct curve_keys {
    char server_secret[41], server_public[41], client_secret[41], client_public[41];
};

static struct curve_keys curve_keys(void) {
    struct curve_keys k;
    uint8_t secret[32];
    memset(secret, 0x01, sizeof secret);
    check_ptr(zmq_z85_encode(k.server_secret, secret, sizeof secret), "zmq_z85_encode");
    memset(secret, 0x02, sizeof secret);
    check_ptr(zmq_z85_encode(k.client_secret, secret, sizeof secret), "zmq_z85_encode");
    check(zmq_curve_public(k.server_public, k.server_secret), "zmq_curve_public");
    check(zmq_curve_public(k.client_public, k.client_secret), "zmq_curve_public");
    return k;
}

static void set_key(void *socket, int option, const char *z85, const char *what) {
    check(zmq_setsockopt(socket, option, z85, strlen(z85)), what);
}

/* With tcp-curve, the binding side is the CURVE server, the other the client. */
static void secure(void *socket, enum transport transport, int server) {
    if (transport != TCP_CURVE)
        return;
    struct curve_keys k = curve_keys();
    if (server) {
        int on = 1;
        check(zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &on, sizeof on),
              "zmq_setsockopt(ZMQ_CURVE_SERVER)");
        set_key(socket, ZMQ_CURVE_SECRETKEY, k.server_secret,
                "zmq_setsockopt(ZMQ_CURVE_SECRETKEY)");
    } else {
        set_key(socket, ZMQ_CURVE_SECRETKEY, k.client_secret,
                "zmq_setsockopt(ZMQ_CURVE_SECRETKEY)");
        set_key(socket, ZMQ_CURVE_PUBLICKEY, k.client_public,
                "zmq_setsockopt(ZMQ_CURVE_PUBLICKEY)");
        set_key(socket, ZMQ_CURVE_SERVERKEY, k.server_public,
                "zmq_setsockopt(ZMQ_CURVE_SERVERKEY)");
    }
}

/* The endpoint a socket is bound to, resolved (tcp: the port picked). */
static void last_endpoint(void *socket, char *buf, size_t size) {
    check(zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, buf, &size),
          "zmq_getsockopt(ZMQ_LAST_ENDPOINT)");
}

/* A socket bound as the job says (tcp: any free port), its endpoint told to the orchestrator. */
static void *bind_socket(int type, const struct job *job) {
    void *socket = check_ptr(zmq_socket(ctx, type), "zmq_socket");
    secure(socket, job->transport, 1);
    const char *endpoint = "tcp://127.0.0.1:*";
    if (job->transport == IPC) {
        if (!job->endpoint)
            die("ipc needs --endpoint");
        endpoint = job->endpoint;
    }
    check(zmq_bind(socket, endpoint), "zmq_bind");
    char resolved[256];
    last_endpoint(socket, resolved, sizeof resolved);
    struct line l = {.len = 0};
    add_text(&l, "endpoint", resolved);
    say(&l);
    return socket;
}

static void *connect_socket(int type, const struct job *job) {
    if (!job->endpoint)
        die("this role needs --endpoint");
    void *socket = check_ptr(zmq_socket(ctx, type), "zmq_socket");
    secure(socket, job->transport, 0);
    check(zmq_connect(socket, job->endpoint), "zmq_connect");
    return socket;
}

static void close_socket(void *socket) {
    check(zmq_close(socket), "zmq_close");
}

static void check_size(size_t got, size_t size) {
    if (got != size)
        die("received a message of %zu bytes, expected %zu", got, size);
}

/* Sends a new message of `size` bytes (its content uninitialised, as in remote_thr). */
static void send_new(void *socket, size_t size) {
    zmq_msg_t msg;
    check(zmq_msg_init_size(&msg, size), "zmq_msg_init_size");
    check(zmq_msg_send(&msg, socket, 0), "zmq_msg_send");
}

/* worker::throughput: `timed` messages of `size` bytes in `elapsed_ns`. */
static struct line throughput(size_t size, uint64_t timed, int64_t elapsed_ns) {
    double secs = elapsed_ns > 0 ? (double)elapsed_ns / 1e9 : 1e-9;
    double rate = (double)timed / secs;
    struct line l = {.len = 0};
    add_int(&l, "msgs_per_sec", (uint64_t)(rate + 0.5));
    add_fixed(&l, "mb_per_sec", (uint64_t)(rate * (double)size / 1e4 + 0.5), 2);
    return l;
}

/* Receiving side of a throughput test: a PULL (local_thr). */
static struct line thr_recv(const struct job *job) {
    void *pull = bind_socket(ZMQ_PULL, job);
    zmq_msg_t msg;
    check(zmq_msg_init(&msg), "zmq_msg_init");
    work_starts();
    check_size((size_t)check(zmq_msg_recv(&msg, pull, 0), "zmq_msg_recv"), job->size);
    int64_t start = clock_ns(CLOCK_MONOTONIC);
    for (uint64_t i = 1; i < job->count; i++)
        check_size((size_t)check(zmq_msg_recv(&msg, pull, 0), "zmq_msg_recv"), job->size);
    int64_t elapsed = clock_ns(CLOCK_MONOTONIC) - start;
    check(zmq_msg_close(&msg), "zmq_msg_close");
    close_socket(pull);
    return throughput(job->size, job->count - 1, elapsed);
}

/* Sending side of a throughput test: a PUSH (remote_thr), then a wait for the orchestrator,
 * so LINGER does not decide whether the last messages arrive. */
static struct line thr_send(const struct job *job) {
    if (job->threads > 1)
        not_supported(job, "a libzmq socket cannot be shared between threads");
    void *push = connect_socket(ZMQ_PUSH, job);
    work_starts();
    for (uint64_t i = 0; i < job->count; i++)
        send_new(push, job->size);
    wait_for_orchestrator();
    close_socket(push);
    struct line l = {.len = 0};
    add_int(&l, "sent", job->count);
    return l;
}

/* Echoing side of a latency test: a REP (local_lat), WARM_UP + count round trips. */
static struct line lat_echo(const struct job *job) {
    void *rep = bind_socket(ZMQ_REP, job);
    zmq_msg_t msg;
    check(zmq_msg_init(&msg), "zmq_msg_init");
    for (uint64_t i = 0; i < WARM_UP + job->count; i++) {
        if (i == WARM_UP)
            work_starts();
        check(zmq_msg_recv(&msg, rep, 0), "zmq_msg_recv");
        /* Sending empties `msg`, ready for the next receive. */
        check(zmq_msg_send(&msg, rep, 0), "zmq_msg_send");
    }
    check(zmq_msg_close(&msg), "zmq_msg_close");
    close_socket(rep);
    struct line l = {.len = 0};
    add_int(&l, "round_trips", job->count);
    return l;
}

static int by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* A round trip's half in thousandths of a µs (ns), rounded as worker::latency does. */
static uint64_t half_ns(uint64_t round_trip_ns) {
    return (round_trip_ns + 1) / 2;
}

/* worker::latency: mean, p50 and p99 (nearest rank) of half the round trips, in µs. */
static struct line latency(uint64_t *rtts, uint64_t n) {
    qsort(rtts, n, sizeof *rtts, by_value);
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++)
        total += rtts[i];
    uint64_t count = n ? n : 1;
    uint64_t rank50 = (50 * count + 99) / 100, rank99 = (99 * count + 99) / 100;
    struct line l = {.len = 0};
    add_fixed(&l, "mean_us", half_ns(total / count), 3);
    add_fixed(&l, "p50_us", n ? half_ns(rtts[rank50 - 1]) : 0, 3);
    add_fixed(&l, "p99_us", n ? half_ns(rtts[rank99 - 1]) : 0, 3);
    return l;
}

/* Timing side of a latency test: a REQ (remote_lat), each round trip timed from building the
 * request to receiving the reply. */
static struct line lat_ping(const struct job *job) {
    void *req = connect_socket(ZMQ_REQ, job);
    uint64_t *rtts = malloc((job->count ? job->count : 1) * sizeof *rtts);
    if (!rtts)
        die("out of memory for %" PRIu64 " round trips", job->count);
    zmq_msg_t reply;
    check(zmq_msg_init(&reply), "zmq_msg_init");
    for (uint64_t i = 0; i < WARM_UP + job->count; i++) {
        if (i == WARM_UP)
            work_starts();
        int64_t start = clock_ns(CLOCK_MONOTONIC);
        send_new(req, job->size);
        int n = check(zmq_msg_recv(&reply, req, 0), "zmq_msg_recv");
        int64_t rtt = clock_ns(CLOCK_MONOTONIC) - start;
        check_size((size_t)n, job->size);
        if (i >= WARM_UP)
            rtts[i - WARM_UP] = (uint64_t)rtt;
    }
    check(zmq_msg_close(&reply), "zmq_msg_close");
    close_socket(req);
    struct line l = latency(rtts, job->count);
    free(rtts);
    return l;
}

static void recv_frame(zmq_msg_t *msg, void *socket) {
    check(zmq_msg_init(msg), "zmq_msg_init");
    check(zmq_msg_recv(msg, socket, 0), "zmq_msg_recv");
}

/* One client connects to the server, completes the handshake (proved by one round trip) and
 * closes: libs/ferro.rs `curve_handshakes`' `connect_once`. */
static void connect_once(void *server, const char *endpoint) {
    void *client = check_ptr(zmq_socket(ctx, ZMQ_DEALER), "zmq_socket");
    secure(client, TCP_CURVE, 0);
    int linger = 0;
    check(zmq_setsockopt(client, ZMQ_LINGER, &linger, sizeof linger),
          "zmq_setsockopt(ZMQ_LINGER)");
    check(zmq_connect(client, endpoint), "zmq_connect");
    check(zmq_send(client, "hi", 2, 0), "zmq_send");
    zmq_msg_t id, body, reply;
    recv_frame(&id, server);
    if (!zmq_msg_more(&id))
        die("the ROUTER received no routing id before the request");
    recv_frame(&body, server);
    check(zmq_msg_send(&id, server, ZMQ_SNDMORE), "zmq_msg_send");
    check(zmq_msg_send(&body, server, 0), "zmq_msg_send");
    recv_frame(&reply, client);
    check_size(zmq_msg_size(&reply), 2);
    check(zmq_msg_close(&reply), "zmq_msg_close");
    close_socket(client);
}

/* New CURVE connections one server completes per second, the clients in this process. */
static struct line curve_handshakes(const struct job *job) {
    void *server = check_ptr(zmq_socket(ctx, ZMQ_ROUTER), "zmq_socket");
    secure(server, TCP_CURVE, 1);
    check(zmq_bind(server, "tcp://127.0.0.1:*"), "zmq_bind");
    char endpoint[256];
    last_endpoint(server, endpoint, sizeof endpoint);
    for (uint64_t i = 0; i < (job->count < WARM_UP ? job->count : WARM_UP); i++)
        connect_once(server, endpoint);
    work_starts();
    int64_t start = clock_ns(CLOCK_MONOTONIC);
    for (uint64_t i = 0; i < job->count; i++)
        connect_once(server, endpoint);
    int64_t elapsed = clock_ns(CLOCK_MONOTONIC) - start;
    close_socket(server);
    double secs = elapsed > 0 ? (double)elapsed / 1e9 : 1e-9;
    struct line l = {.len = 0};
    add_int(&l, "handshakes_per_sec", (uint64_t)((double)job->count / secs + 0.5));
    return l;
}

static uint64_t number(const char *flag, const char *value) {
    char *end;
    errno = 0;
    unsigned long long n = strtoull(value, &end, 10);
    if (errno || end == value || *end || value[0] == '-')
        die("%s: not a number: %s", flag, value);
    return n;
}

static struct job parse(int argc, char **argv) {
    struct job job = {.role_name = NULL, .transport_name = NULL, .threads = 1};
    int has_count = 0;
    for (int i = 1; i < argc; i += 2) {
        const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!value)
            die("%s needs a value", flag);
        if (!strcmp(flag, "--lib"))
            ; /* Always libzmq+sodium: the orchestrator starts this program for no other. */
        else if (!strcmp(flag, "--role"))
            job.role_name = value;
        else if (!strcmp(flag, "--transport"))
            job.transport_name = value;
        else if (!strcmp(flag, "--endpoint"))
            job.endpoint = value;
        else if (!strcmp(flag, "--size"))
            job.size = (size_t)number(flag, value);
        else if (!strcmp(flag, "--count")) {
            job.count = number(flag, value);
            has_count = 1;
        }
        else if (!strcmp(flag, "--threads"))
            job.threads = number(flag, value);
        else if (!strcmp(flag, "--clients"))
            number(flag, value); /* The echo scenario's; no role here uses it. */
        else
            die("unknown argument %s", flag);
    }
    if (!job.role_name || !job.transport_name || !has_count)
        die("needs --role, --transport and --count");
    const char *roles[] = {"thr-recv", "thr-send", "lat-echo", "lat-ping", "curve-handshakes"};
    job.role = OTHER_ROLE;
    for (int r = 0; r < OTHER_ROLE; r++)
        if (!strcmp(job.role_name, roles[r]))
            job.role = (enum role)r;
    const char *transports[] = {"tcp", "tcp-curve", "ipc"};
    job.transport = OTHER_TRANSPORT;
    for (int t = 0; t < OTHER_TRANSPORT; t++)
        if (!strcmp(job.transport_name, transports[t]))
            job.transport = (enum transport)t;
    return job;
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        int major, minor, patch;
        zmq_version(&major, &minor, &patch);
        printf("%d.%d.%d\n", major, minor, patch);
        return 0;
    }
    struct job job = parse(argc, argv);
    if (job.role == OTHER_ROLE || job.transport == OTHER_TRANSPORT)
        not_supported(&job, NULL);
    if (job.role == CURVE_HANDSHAKES && job.transport != TCP_CURVE)
        not_supported(&job, "the handshakes are CURVE's");
    if (job.transport == TCP_CURVE && !zmq_has("curve"))
        not_supported(&job, "this libzmq was built without CURVE");
    if ((job.role == THR_RECV || job.role == THR_SEND) && job.count == 0)
        die("a throughput test needs --count of at least 1");

    ctx = check_ptr(zmq_ctx_new(), "zmq_ctx_new");
    struct line result;
    switch (job.role) {
    case THR_RECV: result = thr_recv(&job); break;
    case THR_SEND: result = thr_send(&job); break;
    case LAT_ECHO: result = lat_echo(&job); break;
    case LAT_PING: result = lat_ping(&job); break;
    case CURVE_HANDSHAKES: result = curve_handshakes(&job); break;
    default: not_supported(&job, NULL);
    }
    while (zmq_ctx_term(ctx) == -1)
        if (zmq_errno() != EINTR)
            check(-1, "zmq_ctx_term");
    if (work_started >= 0)
        add_int(&result, "cpu_ns", (uint64_t)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - work_started));
    say(&result);
    return 0;
}
