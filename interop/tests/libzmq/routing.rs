//! ROUTER routing ids across implementations: a ROUTER of one implementation must report the
//! ids that REQ and DEALER peers of the other announce, and route replies back by them.

use std::collections::BTreeMap;

use ferrozmq::SocketType;

use crate::peer::{assert_frames, socket, BindAddress, Frames, Impl, Transport};

/// The ROUTER is `router`; three peers of the other implementation, each with its own id,
/// connect to it, send one request, and must each get back only their own reply.
fn router_sees_routing_ids(router: Impl, transport: Transport) {
    let peers: [(SocketType, &[u8]); 3] = [
        (SocketType::Dealer, b"alpha"),
        (SocketType::Dealer, b"beta"),
        (SocketType::Req, b"gamma"),
    ];
    let address = BindAddress::new(transport);
    let server = socket(router, SocketType::Router);
    let endpoint = server.bind(address.endpoint());
    let clients: Vec<_> = peers
        .iter()
        .map(|&(socket_type, id)| {
            let client = socket(router.other(), socket_type);
            client.set_routing_id(id);
            client.connect(&endpoint);
            let mut request = delimiter(socket_type);
            request.push([b"request from ".as_slice(), id].concat());
            client.send(&request);
            client
        })
        .collect();

    // The arrival order across peers is not defined; index what arrived by routing id.
    let mut seen = BTreeMap::new();
    for _ in &peers {
        let mut msg = server.recv();
        assert!(msg.len() >= 2, "{server:?}: no routing-id frame in {msg:?}");
        let body = msg.split_off(1);
        seen.insert(msg.remove(0), body);
    }
    for &(_, id) in &peers {
        let body = seen
            .remove(id)
            .unwrap_or_else(|| panic!("{server:?}: no message with routing id {id:?}"));
        let want = vec![Vec::new(), [b"request from ".as_slice(), id].concat()];
        assert_frames(&format!("{server:?} from {id:?}"), &body, &want);
    }

    // Reply in reverse order so routing, not arrival order, decides who gets what.
    for &(_, id) in peers.iter().rev() {
        let reply = vec![
            id.to_vec(),
            Vec::new(),
            [b"reply to ".as_slice(), id].concat(),
        ];
        server.send(&reply);
    }
    for (client, &(socket_type, id)) in clients.iter().zip(&peers) {
        let mut want = delimiter(socket_type);
        want.push([b"reply to ".as_slice(), id].concat());
        assert_frames(&format!("{client:?} {id:?}"), &client.recv(), &want);
    }
}

/// What the client application adds before the body: the DEALERs here mimic REQ framing, so
/// the ROUTER sees `[id, "", body]` from every peer.
fn delimiter(client: SocketType) -> Frames {
    match client {
        SocketType::Dealer => vec![Vec::new()],
        _ => Vec::new(),
    }
}

#[test]
fn ferrozmq_router_sees_libzmq_routing_ids_tcp() {
    router_sees_routing_ids(Impl::Ferrozmq, Transport::Tcp);
}

#[test]
fn ferrozmq_router_sees_libzmq_routing_ids_ipc() {
    router_sees_routing_ids(Impl::Ferrozmq, Transport::Ipc);
}

#[test]
fn libzmq_router_sees_ferrozmq_routing_ids_tcp() {
    router_sees_routing_ids(Impl::Libzmq, Transport::Tcp);
}

#[test]
fn libzmq_router_sees_ferrozmq_routing_ids_ipc() {
    router_sees_routing_ids(Impl::Libzmq, Transport::Ipc);
}
