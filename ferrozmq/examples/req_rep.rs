//! Request-reply in a dozen lines: a REP echo thread and a REQ client.

use ferrozmq::{Socket, SocketType};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rep = Socket::new(SocketType::Rep);
    let endpoint = rep.bind("tcp://127.0.0.1:*")?;
    std::thread::spawn(move || {
        while let Ok(request) = rep.recv() {
            let _ = rep.send(request); // echo it back
        }
    });
    let req = Socket::new(SocketType::Req);
    req.connect(&endpoint)?;
    for word in ["hello", "world"] {
        req.send(word)?;
        let reply = req.recv()?;
        println!("{word} -> {}", String::from_utf8_lossy(&reply.frames()[0]));
    }
    Ok(())
}
