/* A libzmq peer for ferrozmq's CURVE/PLAIN/ZAP interop tests, built by the test against the
 * system's libzmq (Debian's libzmq5 is built with libsodium, so it has CURVE).
 *
 * peer <bind|connect> <TYPE> <endpoint> [security and ZAP options] <action> <count>
 *   --curve-server SECRET            --curve-client SERVERPUB PUB SECRET
 *   --plain-server                   --plain-client USER PASS
 *   --zap-user USER PASS  --zap-key Z85  --zap-any-key  --zap-deny-ip IP   (a ZAP handler)
 * actions: echo N (REP/ROUTER/DEALER: answer N messages), req N (REQ/DEALER: N requests),
 *          send N (PUSH), recv N (PULL/SUB/ROUTER), publish (PUB: until stdin closes),
 *          refused (send once, wait for the monitor's handshake outcome, print it, then
 *          stay up until stdin closes)
 * Output lines: "ENDPOINT e", "RECV f1|f2", "EVENT AUTH code" / "EVENT PROTOCOL code" /
 * "EVENT OK", "DONE". Exit code 0 on success. Every wait is bounded by 20 s. */
#include <zmq.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *zap_users[8][2];
static int n_users;
static const char *zap_keys[8];
static int n_keys, any_key;
static const char *deny_ips[8];
static int n_deny;
static void *ctx;

static int type_of(const char *t) {
    const char *names[] = {"PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH"};
    for (int i = 0; i < 9; i++)
        if (!strcmp(t, names[i])) return i;
    fprintf(stderr, "unknown type %s\n", t);
    exit(2);
}

/* ZAP handler (RFC 27): allows listed users/keys, denies listed IPs. */
static void *zap_thread(void *arg) {
    (void)arg;
    void *h = zmq_socket(ctx, ZMQ_REP);
    zmq_bind(h, "inproc://zeromq.zap.01");
    for (;;) {
        char f[10][256]; int sizes[10]; int n = 0, more = 1;
        while (more && n < 10) {
            int r = zmq_recv(h, f[n], 255, 0);
            if (r < 0) { zmq_close(h); return NULL; }
            sizes[n] = r > 255 ? 255 : r;
            f[n][sizes[n]] = 0;
            int m = 0; size_t sz = sizeof m;
            zmq_getsockopt(h, ZMQ_RCVMORE, &m, &sz);
            more = m; n++;
        }
        /* version, id, domain, address, identity, mechanism, credentials */
        const char *code = "400", *text = "denied", *user = "";
        char z85[41] = {0};
        int denied = 0;
        for (int i = 0; i < n_deny; i++) if (!strcmp(f[3], deny_ips[i])) denied = 1;
        if (!denied && !strcmp(f[5], "PLAIN") && n >= 8) {
            for (int i = 0; i < n_users; i++)
                if (!strcmp(f[6], zap_users[i][0]) && !strcmp(f[7], zap_users[i][1])) {
                    code = "200"; text = "OK"; user = f[6];
                }
        } else if (!denied && !strcmp(f[5], "CURVE") && n >= 7 && sizes[6] == 32) {
            zmq_z85_encode(z85, (uint8_t *)f[6], 32);
            if (any_key) { code = "200"; text = "OK"; user = z85; }
            for (int i = 0; i < n_keys; i++)
                if (!strcmp(z85, zap_keys[i])) { code = "200"; text = "OK"; user = z85; }
        } else if (!denied && !strcmp(f[5], "NULL")) {
            code = "200"; text = "OK";
        }
        zmq_send(h, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(h, f[1], sizes[1], ZMQ_SNDMORE);
        zmq_send(h, code, 3, ZMQ_SNDMORE);
        zmq_send(h, text, strlen(text), ZMQ_SNDMORE);
        zmq_send(h, user, strlen(user), ZMQ_SNDMORE);
        zmq_send(h, "", 0, 0);
    }
}

/* Waits for a handshake outcome on the monitor; prints it. */
static int wait_event(void *mon) {
    for (;;) {
        zmq_msg_t m; zmq_msg_init(&m);
        if (zmq_msg_recv(&m, mon, 0) < 0) { printf("EVENT TIMEOUT\n"); return 1; }
        uint8_t *d = zmq_msg_data(&m);
        uint16_t ev = *(uint16_t *)d; uint32_t val = *(uint32_t *)(d + 2);
        zmq_msg_close(&m);
        zmq_msg_init(&m); zmq_msg_recv(&m, mon, 0); zmq_msg_close(&m);
        if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) { printf("EVENT AUTH %u\n", val); return 0; }
        if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) { printf("EVENT PROTOCOL %u\n", val); return 0; }
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) { printf("EVENT OK\n"); return 0; }
        if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) { printf("EVENT NODETAIL\n"); return 0; }
    }
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 6) { fprintf(stderr, "usage: see peer.c\n"); return 2; }
    ctx = zmq_ctx_new();
    int type = type_of(argv[2]);
    void *s = zmq_socket(ctx, type);
    int timeout = 20000, linger = 2000, one = 1;
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(s, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    int zap = 0, i = 4;
    for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--curve-server")) {
            zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one);
            zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, argv[++i], 40);
        } else if (!strcmp(o, "--curve-client")) {
            zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, argv[++i], 40);
            zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, argv[++i], 40);
            zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, argv[++i], 40);
        } else if (!strcmp(o, "--plain-server")) {
            zmq_setsockopt(s, ZMQ_PLAIN_SERVER, &one, sizeof one);
        } else if (!strcmp(o, "--plain-client")) {
            zmq_setsockopt(s, ZMQ_PLAIN_USERNAME, argv[i + 1], strlen(argv[i + 1]));
            zmq_setsockopt(s, ZMQ_PLAIN_PASSWORD, argv[i + 2], strlen(argv[i + 2]));
            i += 2;
        } else if (!strcmp(o, "--zap-user")) {
            zap_users[n_users][0] = argv[i + 1]; zap_users[n_users++][1] = argv[i + 2]; i += 2; zap = 1;
        } else if (!strcmp(o, "--zap-key")) {
            zap_keys[n_keys++] = argv[++i]; zap = 1;
        } else if (!strcmp(o, "--zap-any-key")) {
            any_key = 1; zap = 1;
        } else if (!strcmp(o, "--zap-deny-ip")) {
            deny_ips[n_deny++] = argv[++i]; zap = 1;
        } else { fprintf(stderr, "unknown option %s\n", o); return 2; }
    }
    if (zap) {
        pthread_t t; pthread_create(&t, NULL, zap_thread, NULL);
        usleep(100000); /* the handler binds before the socket's first handshake */
    }
    if (type == ZMQ_SUB) zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    zmq_socket_monitor(s, "inproc://monitor", ZMQ_EVENT_ALL);
    void *mon = zmq_socket(ctx, ZMQ_PAIR);
    zmq_setsockopt(mon, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_connect(mon, "inproc://monitor");
    if (!strcmp(argv[1], "bind")) {
        if (zmq_bind(s, argv[3]) != 0) { perror("bind"); return 3; }
        char ep[256]; size_t sz = sizeof ep;
        zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &sz);
        printf("ENDPOINT %s\n", ep);
    } else if (zmq_connect(s, argv[3]) != 0) { perror("connect"); return 3; }
    if (i + 1 >= argc) return 2;
    const char *action = argv[i];
    int count = atoi(argv[i + 1]);
    char buf[65536];
    if (!strcmp(action, "refused")) {
        if (type != ZMQ_PULL && type != ZMQ_SUB && type != ZMQ_REP && type != ZMQ_ROUTER)
            zmq_send(s, "should not arrive", 17, ZMQ_DONTWAIT);
        int rc = wait_event(mon);
        /* Stay up (so that our ERROR leaves) until the test closes our stdin. */
        while (read(0, buf, sizeof buf) > 0) {}
        printf("DONE\n");
        return rc;
    }
    if (!strcmp(action, "publish")) {
        /* Until the test closes our stdin: one message every 10 ms. */
        int flags = 0;
        for (int n = 0; n < 2000; n++) {
            fd_set r; FD_ZERO(&r); FD_SET(0, &r);
            struct timeval tv = {0, 10000};
            if (select(1, &r, NULL, NULL, &tv) > 0 && read(0, buf, sizeof buf) <= 0) break;
            snprintf(buf, sizeof buf, "topic %d", n);
            zmq_send(s, buf, strlen(buf), flags);
        }
        printf("DONE\n");
        return 0;
    }
    for (int n = 0; n < count; n++) {
        if (!strcmp(action, "req") || !strcmp(action, "send")) {
            snprintf(buf, sizeof buf, "hello %d", n);
            if (type == ZMQ_DEALER) zmq_send(s, "", 0, ZMQ_SNDMORE);
            if (zmq_send(s, buf, strlen(buf), 0) < 0) { printf("SEND FAILED\n"); return 1; }
            if (!strcmp(action, "send")) continue;
        }
        /* receive one whole message, print it, and answer it for "echo" */
        char line[70000] = "RECV "; size_t len = 5;
        zmq_msg_t parts[16]; int np = 0, more = 1;
        while (more && np < 16) {
            zmq_msg_init(&parts[np]);
            if (zmq_msg_recv(&parts[np], s, 0) < 0) { printf("RECV TIMEOUT\n"); return 1; }
            more = zmq_msg_more(&parts[np]);
            size_t fl = zmq_msg_size(&parts[np]);
            if (np) line[len++] = '|';
            if (fl > 60000) { len += sprintf(line + len, "<%zu bytes>", fl); }
            else {
                const unsigned char *d = zmq_msg_data(&parts[np]);
                for (size_t k = 0; k < fl; k++) line[len++] = (d[k] < 32 || d[k] > 126) ? '.' : d[k];
            }
            np++;
        }
        line[len] = 0;
        printf("%s\n", line);
        if (!strcmp(action, "echo"))
            for (int p = 0; p < np; p++) zmq_msg_send(&parts[p], s, p + 1 < np ? ZMQ_SNDMORE : 0);
        else
            for (int p = 0; p < np; p++) zmq_msg_close(&parts[p]);
    }
    printf("DONE\n");
    /* Closing flushes the last reply (LINGER 2 s) before the process exits. */
    zmq_close(mon); zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}
