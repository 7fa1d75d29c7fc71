"""A TCP proxy for Bellwether's peer links that controls each directed link (i -> j) separately.

Two kinds of listening port:
  node port   one per node j, the peer address every member has for j (founding nodes get it in
              --peers, joining nodes register it with --peer-advertise); it forwards to j's real
              --peer-listen address. Each node dials its own outbound connection to every peer
              and opens it with a hello frame naming itself (src/net/frame.h), so the proxy reads
              the sender's id from that frame and files the connection under link (i, j). Nodes
              that join at run time thus get their links like the founding ones.
  link port   one per directed link, for streams without a hello (the redis replication stream).
Per link the test sets a mode:
  ok         forward
  drop       close the link's connections; new ones are accepted and closed at once (a reset)
  blackhole  accept and read, forward nothing (bytes are lost); connections are closed on heal,
             since a stream with a hole in it cannot be resumed
  plus a delay_ms that holds every chunk that long before forwarding (order kept).
Links are made on first use, so a mode can be set before any connection exists.
All sockets are on 127.0.0.1; everything runs on one asyncio loop in one thread.
"""
import asyncio
import socket
import threading

CHUNK_BYTES = 65536
CONNECT_TIMEOUT_S = 2.0
HELLO_TIMEOUT_S = 5.0  # a node sends its hello as soon as it has connected
FRAME_HEADER_BYTES = 6  # u32 length (of what follows it) | u8 version | u8 type
HELLO_TYPE = 1
HELLO_NONCE_BYTES = 32  # kPeerNonceBytes (src/net/peer_auth.h)
# version, type, varint + cluster id (server bound), u64 id, nonce
HELLO_LENGTH_MAX = 2 + 10 + 256 + 8 + HELLO_NONCE_BYTES


def hello_sender(frame):
    """The sender's node id from a complete hello frame (header included), or None. The hello
    (src/net/peer_auth.cc encode_hello) ends with the sender's u64 id and its nonce."""
    if len(frame) < FRAME_HEADER_BYTES or frame[5] != HELLO_TYPE:
        return None
    length = int.from_bytes(frame[:4], "little")
    if len(frame) != 4 + length or length < 2 + 1 + 8 + HELLO_NONCE_BYTES:
        return None
    end = len(frame) - HELLO_NONCE_BYTES
    return int.from_bytes(frame[end - 8:end], "little") or None


class Link:
    """Directed link src -> dst: its mode and its open sockets (both sides)."""

    def __init__(self, src, dst):
        self.src, self.dst = src, dst
        self.mode = "ok"
        self.delay_ms = 0
        self.writers = set()
        self.forwarded_bytes = 0


class Listener:
    """A listening port forwarding to target_port: a node port (dst set, src read from each
    connection's hello) or a link port (src and dst fixed)."""

    def __init__(self, target_port, dst, src=None):
        self.target_port, self.dst, self.src = target_port, dst, src
        self.port = None
        self.server = None
        self.writers = set()  # every open socket of a connection accepted here

    def link_dst(self):
        """Where its connections are filed: the node, or the port while the node is unknown
        (partitions name nodes, so those are never cut)."""
        return self.dst if self.dst is not None else f"port {self.port}"


class Proxy:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.links = {}  # (src, dst) -> Link
        self.listeners = {}  # port -> Listener
        self.unidentified = 0  # node-port connections closed without a readable hello
        self.thread = threading.Thread(target=self.loop.run_forever, name="chaos-proxy", daemon=True)
        self.thread.start()

    def _call(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def link(self, src, dst):
        """The link src -> dst (made on first use). Only on the proxy's loop or under _call."""
        key = (src, dst)
        if key not in self.links:
            self.links[key] = Link(src, dst)
        return self.links[key]

    def add_link(self, src, dst, target_port):
        """Listens for link src -> dst only on a free loopback port; returns that port."""
        return self._call(self._listen(Listener(target_port, dst, src)))

    def add_node(self, dst, target_port):
        """Listens for every link into node `dst` (None: not known yet) on a free loopback port,
        forwarding to target_port; returns that port."""
        return self._call(self._listen(Listener(target_port, dst)))

    def set_destination(self, port, dst):
        """The node port `port` now leads to node `dst` (a joined node learned its id, or a new
        node took over the port). Its open connections are closed: they reconnect and are filed
        under the new link."""
        async def update():
            listener = self.listeners[port]
            listener.dst = dst
            for w in list(listener.writers):
                w.transport.abort()
        self._call(update())

    async def _listen(self, listener):
        listener.server = await asyncio.start_server(
            lambda r, w: self._accept(listener, r, w), host="127.0.0.1", port=0)
        listener.port = listener.server.sockets[0].getsockname()[1]
        self.listeners[listener.port] = listener
        return listener.port

    async def _read_hello(self, reader):
        """The bytes of the first frame and its sender, or (bytes, None) if it is not a hello."""
        header = await reader.readexactly(FRAME_HEADER_BYTES)
        length = int.from_bytes(header[:4], "little")
        if header[5] != HELLO_TYPE or not 2 < length <= HELLO_LENGTH_MAX:
            return header, None
        frame = header + await reader.readexactly(length - 2)
        return frame, hello_sender(frame)

    async def _accept(self, listener, reader, writer):
        first = b""
        if listener.src is None:
            try:
                first, src = await asyncio.wait_for(self._read_hello(reader), HELLO_TIMEOUT_S)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
                src = None
            if src is None:
                self.unidentified += 1
                writer.transport.abort()
                return
        else:
            src = listener.src
        link = self.link(src, listener.link_dst())
        if link.mode == "drop":
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", listener.target_port), CONNECT_TIMEOUT_S)
        except (OSError, asyncio.TimeoutError):
            writer.transport.abort()
            return
        for w in (writer, up_writer):
            w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link.writers |= {writer, up_writer}
        listener.writers |= {writer, up_writer}
        if first and link.mode == "ok":
            up_writer.write(first)  # the hello, read to tell the sender
            link.forwarded_bytes += len(first)
        await asyncio.gather(self._pump(link, reader, up_writer),
                             self._pump(link, up_reader, writer), return_exceptions=True)
        link.writers -= {writer, up_writer}
        listener.writers -= {writer, up_writer}
        for w in (writer, up_writer):
            w.transport.abort()

    async def _pump(self, link, reader, writer):
        queue = asyncio.Queue()

        async def deliver():
            while True:
                due, data = await queue.get()
                if data is None:
                    return
                wait = due - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(CHUNK_BYTES)
                if not data:
                    break
                if link.mode != "ok":
                    continue  # blackhole (drop closes the sockets)
                link.forwarded_bytes += len(data)
                queue.put_nowait((self.loop.time() + link.delay_ms / 1000.0, data))
                if sender.done():
                    break
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            queue.put_nowait((0, None))
            try:
                await asyncio.wait_for(sender, 5)
            except Exception:  # the other side is gone; the connection is closing anyway
                pass
            writer.transport.abort()

    def set(self, src, dst, mode="ok", delay_ms=None):
        """Sets a directed link's mode (and delay if given). Thread-safe."""
        async def update():
            self._set(self.link(src, dst), mode, delay_ms)
        self._call(update())

    @staticmethod
    def _set(link, mode, delay_ms):
        was = link.mode
        link.mode = mode
        if delay_ms is not None:
            link.delay_ms = delay_ms
        if mode == "drop" or (was == "blackhole" and mode == "ok"):
            for w in list(link.writers):
                w.transport.abort()

    def partition(self, groups):
        """Cuts every link between different groups (both directions), heals the rest."""
        side = {n: g for g, members in enumerate(groups) for n in members}
        for src in side:
            for dst in side:
                if src != dst:
                    self.set(src, dst, "drop" if side[src] != side[dst] else "ok")

    def heal(self):
        """Every link back to ok without delay. Thread-safe."""
        async def update():
            for link in list(self.links.values()):
                self._set(link, "ok", 0)
        self._call(update())

    def close(self):
        async def shutdown():
            for listener in self.listeners.values():
                listener.server.close()
            for link in self.links.values():
                for w in list(link.writers):
                    w.transport.abort()
        try:
            self._call(shutdown())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
