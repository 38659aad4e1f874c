// A JeroMQ peer for ferrozmq's interop tests (interop/tests/jeromq.rs), which compiles it with
// javac against the system's jeromq.jar and runs it with `java -cp`.
//
// Usage: JeromqPeer ROLE bind|connect ENDPOINT COUNT FRAMES
//   ROLE     req, rep, dealer, router, push, pull, pub or sub
//   bind     binds to a random port of ENDPOINT (e.g. tcp://127.0.0.1) and prints "PORT n"
//   connect  connects to ENDPOINT
//   COUNT    messages to exchange; message i has FRAMES frames (see message())
//
// It prints "OK n" and exits 0 once all n messages were exchanged as expected; on anything
// else it prints the reason to stderr and exits 1. PUB/SUB synchronise through stdin/stdout:
// a SUB prints "SYNCED" on its first "sync" message; a PUB sends "sync" messages until a line
// arrives on stdin, then the data. A DEALER announces the routing id "dealer-id"; a ROUTER
// checks that its peer announced it.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.zeromq.ZMQ;

public final class JeromqPeer {
    static final byte[] DEALER_ID = bytes("dealer-id");
    static final byte[] SYNC = bytes("sync");

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            fail("usage: JeromqPeer ROLE bind|connect ENDPOINT COUNT FRAMES");
        }
        String role = args[0];
        int count = Integer.parseInt(args[3]);
        int frames = Integer.parseInt(args[4]);
        ZMQ.Context ctx = ZMQ.context(1);
        ZMQ.Socket s = ctx.socket(type(role));
        s.setLinger(30000);
        s.setSndHWM(0);
        s.setRcvHWM(0);
        s.setReceiveTimeOut(60000);
        if (role.equals("dealer")) {
            s.setIdentity(DEALER_ID);
        }
        if (role.equals("sub")) {
            s.subscribe(SYNC);
            s.subscribe(bytes("m"));
        }
        if (args[1].equals("bind")) {
            System.out.println("PORT " + s.bindToRandomPort(args[2]));
        } else {
            s.connect(args[2]);
        }
        System.out.flush();
        switch (role) {
            case "req":
            case "dealer":
                for (int i = 0; i < count; i++) {
                    send(s, message(i, frames));
                    expect(recv(s), message(i, frames), i);
                }
                break;
            case "rep":
                for (int i = 0; i < count; i++) {
                    List<byte[]> got = recv(s);
                    expect(got, message(i, frames), i);
                    send(s, got);
                }
                break;
            case "router":
                for (int i = 0; i < count; i++) {
                    List<byte[]> got = recv(s);
                    if (!Arrays.equals(got.get(0), DEALER_ID)) {
                        fail("message " + i + ": routing id " + text(got.get(0)));
                    }
                    expect(got.subList(1, got.size()), message(i, frames), i);
                    send(s, got);
                }
                break;
            case "push":
                for (int i = 0; i < count; i++) {
                    send(s, message(i, frames));
                }
                break;
            case "pull":
                for (int i = 0; i < count; i++) {
                    expect(recv(s), message(i, frames), i);
                }
                break;
            case "pub":
                publish(s, count, frames);
                break;
            case "sub":
                subscribe(s, count, frames);
                break;
            default:
                fail("unknown role " + role);
        }
        s.close();
        ctx.term(); // waits, within the linger, until everything sent was delivered
        System.out.println("OK " + count);
    }

    /// Sends "sync" until stdin has a line, then the data, with a message no subscriber
    /// wants ("x", i) before each one.
    static void publish(ZMQ.Socket s, int count, int frames) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        while (!in.ready()) {
            send(s, List.of(SYNC));
            Thread.sleep(10);
        }
        in.readLine();
        for (int i = 0; i < count; i++) {
            send(s, List.of(bytes("x"), bytes(Integer.toString(i))));
            send(s, message(i, frames));
        }
    }

    /// Reads until the first "sync", says so, then expects the data in order, skipping the
    /// "sync" messages still in flight.
    static void subscribe(ZMQ.Socket s, int count, int frames) {
        List<byte[]> got = recv(s);
        if (!Arrays.equals(got.get(0), SYNC)) {
            fail("first message is not sync: " + text(got.get(0)));
        }
        System.out.println("SYNCED");
        System.out.flush();
        for (int i = 0; i < count; i++) {
            do {
                got = recv(s);
            } while (Arrays.equals(got.get(0), SYNC));
            expect(got, message(i, frames), i);
        }
    }

    /// Message i: "m", i in decimal, then (i % 600) bytes of one letter (short and long
    /// frames both), then further copies of it up to `frames` frames.
    static List<byte[]> message(int i, int frames) {
        List<byte[]> m = new ArrayList<>();
        m.add(bytes("m"));
        m.add(bytes(Integer.toString(i)));
        byte[] payload = new byte[i % 600];
        Arrays.fill(payload, (byte) ('a' + i % 26));
        while (m.size() < frames) {
            m.add(payload);
        }
        return m.subList(0, Math.max(1, frames));
    }

    static void send(ZMQ.Socket s, List<byte[]> m) {
        for (int i = 0; i < m.size(); i++) {
            if (!s.send(m.get(i), i + 1 < m.size() ? ZMQ.SNDMORE : 0)) {
                fail("send failed");
            }
        }
    }

    static List<byte[]> recv(ZMQ.Socket s) {
        List<byte[]> m = new ArrayList<>();
        do {
            byte[] frame = s.recv(0);
            if (frame == null) {
                fail("receive timed out after " + m.size() + " frames");
            }
            m.add(frame);
        } while (s.hasReceiveMore());
        return m;
    }

    static void expect(List<byte[]> got, List<byte[]> want, int i) {
        boolean same = got.size() == want.size();
        for (int k = 0; same && k < got.size(); k++) {
            same = Arrays.equals(got.get(k), want.get(k));
        }
        if (!same) {
            StringBuilder b = new StringBuilder();
            for (byte[] f : got) {
                b.append('[').append(text(f)).append(']');
            }
            fail("message " + i + ": got " + got.size() + " frames " + b);
        }
    }

    static int type(String role) {
        switch (role) {
            case "req": return ZMQ.REQ;
            case "rep": return ZMQ.REP;
            case "dealer": return ZMQ.DEALER;
            case "router": return ZMQ.ROUTER;
            case "push": return ZMQ.PUSH;
            case "pull": return ZMQ.PULL;
            case "pub": return ZMQ.PUB;
            case "sub": return ZMQ.SUB;
            default: fail("unknown role " + role); return -1;
        }
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String text(byte[] b) {
        String t = new String(b, StandardCharsets.UTF_8);
        return t.length() > 40 ? t.substring(0, 40) + "..." : t;
    }

    static void fail(String why) {
        System.err.println("JeromqPeer: " + why);
        System.exit(1);
    }
}
