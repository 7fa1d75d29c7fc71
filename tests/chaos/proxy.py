"""A TCP proxy for Bellwether's peer links, one listening port per directed link (i -> j).

Node i is started with peer j's address pointing at the proxy port of link (i, j), which forwards
to node j's real --peer-listen address. Each node dials its own outbound connection to every peer,
so a directed link carries exactly what i sends to j. Per link the test sets a mode:
  ok         forward
  drop       close the link's connections; new ones are accepted and closed at once (a reset)
  blackhole  accept and read, forward nothing (bytes are lost); connections are closed on heal,
             since a stream with a hole in it cannot be resumed
  plus a delay_ms that holds every chunk that long before forwarding (order kept).
All sockets are on 127.0.0.1; everything runs on one asyncio loop in one thread.
"""
import asyncio
import socket
import threading

CHUNK_BYTES = 65536
CONNECT_TIMEOUT_S = 2.0


class Link:
    def __init__(self, src, dst, target_port):
        self.src, self.dst, self.target_port = src, dst, target_port
        self.mode = "ok"
        self.delay_ms = 0
        self.port = None
        self.server = None
        self.writers = set()  # every open socket of this link (both sides)
        self.forwarded_bytes = 0


class Proxy:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.links = {}
        self.thread = threading.Thread(target=self.loop.run_forever, name="chaos-proxy", daemon=True)
        self.thread.start()

    def _call(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def add_link(self, src, dst, target_port):
        """Listens for link src -> dst on a free loopback port; returns that port."""
        link = Link(src, dst, target_port)
        self._call(self._listen(link))
        self.links[(src, dst)] = link
        return link.port

    async def _listen(self, link):
        link.server = await asyncio.start_server(
            lambda r, w: self._accept(link, r, w), host="127.0.0.1", port=0)
        link.port = link.server.sockets[0].getsockname()[1]

    async def _accept(self, link, reader, writer):
        if link.mode == "drop":
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", link.target_port), CONNECT_TIMEOUT_S)
        except (OSError, asyncio.TimeoutError):
            writer.transport.abort()
            return
        for w in (writer, up_writer):
            w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link.writers |= {writer, up_writer}
        await asyncio.gather(self._pump(link, reader, up_writer),
                             self._pump(link, up_reader, writer), return_exceptions=True)
        link.writers -= {writer, up_writer}
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
        self._call(self._set(self.links[(src, dst)], mode, delay_ms))

    async def _set(self, link, mode, delay_ms):
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
        for (src, dst) in self.links:
            cut = side.get(src) != side.get(dst)
            self.set(src, dst, "drop" if cut else "ok")

    def heal(self):
        for (src, dst) in self.links:
            self.set(src, dst, "ok", delay_ms=0)

    def close(self):
        async def shutdown():
            for link in self.links.values():
                link.server.close()
                for w in list(link.writers):
                    w.transport.abort()
        try:
            self._call(shutdown())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
