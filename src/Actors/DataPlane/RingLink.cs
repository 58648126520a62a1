using System.Net.Sockets;

namespace ActorLab.Actors.DataPlane;

/// <summary>One authenticated connection of a ring (plain TCP or TLS over it) and its socket, for timeouts and a hard close.</summary>
sealed record RingLink(Stream Stream, Socket Socket) : IDisposable
{
    /// <summary>Unblocks any read or write in progress on another thread (shutdown first: a bare close may leave a blocked call waiting).</summary>
    public void Close()
    {
        try { Socket.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        Socket.Dispose();
    }

    public void Dispose()
    {
        Close();
        try { Stream.Dispose(); } catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException) { }
    }
}
