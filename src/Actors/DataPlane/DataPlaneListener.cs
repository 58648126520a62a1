using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorLab.Actors.Config;

namespace ActorLab.Actors.DataPlane;

/// <summary>
/// A node's data-plane port: gradients of cross-node data-parallel runs travel here on their own TCP connections,
/// beside Akka (which only decides who is in a ring). One listener per node process serves every ring the node is
/// in. A ring is registered by <see cref="JoinAsync"/>; each accepted connection says in its handshake which run,
/// epoch and ring rank it is, proves it with the lease's secret, and is handed to that ring as its inbound link.
/// Only the current epoch of a run is served: a newer lease makes the older one stale (its connection is aborted,
/// its connectors refused), and <see cref="Retire"/> ends one.
/// </summary>
public sealed class DataPlaneListener : IDisposable
{
    readonly Socket _socket;
    readonly ClusterTls? _tls;
    readonly SslStreamCertificateContext? _certificateContext;
    readonly Action<string> _log;
    readonly CancellationTokenSource _stopping = new();
    readonly object _gate = new();
    readonly Dictionary<string, RunState> _runs = new();
    bool _disposed;
    // connections still in their handshake: past this many, new ones are closed at once (a flood holds no more)
    const int MaxHandshakes = 64;
    int _handshaking;

    public DataPlaneListener(IPAddress bind, int port, ClusterTls? tls = null, Action<string>? log = null)
    {
        _tls = tls;
        _log = log ?? (_ => { });
        if (tls != null) _certificateContext = SslStreamCertificateContext.Create(tls.Certificate, additionalCertificates: null, offline: true);
        _socket = new Socket(bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _socket.Bind(new IPEndPoint(bind, port));
            _socket.Listen(128);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        Endpoint = (IPEndPoint)_socket.LocalEndPoint!;
        _ = Task.Run(AcceptLoop);
    }

    public IPEndPoint Endpoint { get; }
    public int Port => Endpoint.Port;

    /// <summary>Per run: its current epoch, the epochs retired, and the ring of the current epoch.</summary>
    sealed class RunState
    {
        public long Current = long.MinValue;
        public long RetiredThrough = long.MinValue;
        public Registration? Ring;
    }

    /// <summary>This node's part of one ring while it forms and runs.</summary>
    sealed class Registration(RingSpec spec, int rank)
    {
        public RingSpec Spec { get; } = spec;
        public int Rank { get; } = rank;
        public int Previous => (Rank - 1 + Spec.WorldSize) % Spec.WorldSize;
        public TaskCompletionSource<RingLink> Inbound { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenSource Ending { get; } = new();
        public bool InboundClaimed;
        public RingConnection? Connection;
        public string? Ended;
    }

    /// <summary>
    /// Joins ring rank <paramref name="ringRank"/> of <paramref name="spec"/>: registers the epoch, connects to the next
    /// member (retrying while it has not registered the ring yet) and waits for the previous member to connect,
    /// both within <paramref name="connectTimeout"/>. Throws <see cref="DataPlaneRefusedException"/> when a peer
    /// refuses (at once) or the ring does not form in time.
    /// </summary>
    public async Task<RingConnection> JoinAsync(RingSpec spec, int ringRank, TimeSpan connectTimeout, CancellationToken cancel)
    {
        var w = spec.WorldSize;
        if (w < 1) throw new ArgumentException("a ring needs a member", nameof(spec));
        ArgumentOutOfRangeException.ThrowIfNegative(ringRank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(ringRank, w);
        if (System.Text.Encoding.UTF8.GetByteCount(spec.RunId) is 0 or > Handshake.MaxRunIdBytes)
            throw new ArgumentException($"a run id is 1 to {Handshake.MaxRunIdBytes} bytes of UTF-8", nameof(spec));
        if (spec.Secret.Length < 16) throw new ArgumentException("the ring's secret is under 16 bytes", nameof(spec));
        if (w == 1) return RingConnection.Alone(spec);

        var reg = new Registration(spec, ringRank);
        Registration? superseded;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_runs.TryGetValue(spec.RunId, out var run)) _runs[spec.RunId] = run = new RunState();
            if (spec.Epoch <= run.RetiredThrough)
                throw new DataPlaneRefusedException($"epoch {spec.Epoch} of run {spec.RunId} is retired on this node");
            if (spec.Epoch < run.Current)
                throw new DataPlaneRefusedException($"stale epoch {spec.Epoch} of run {spec.RunId}, current is {run.Current}");
            if (spec.Epoch == run.Current && run.Ring is { } same)
                throw same.Ended != null
                    ? new DataPlaneRefusedException($"epoch {spec.Epoch} of run {spec.RunId} already failed on this node ({same.Ended}): a new ring needs a new lease")
                    : new InvalidOperationException($"epoch {spec.Epoch} of run {spec.RunId} is already joined on this node");
            superseded = run.Ring;
            run.Current = spec.Epoch;
            run.Ring = reg;
        }
        if (superseded != null) End(superseded, $"epoch {superseded.Spec.Epoch} of run {spec.RunId} was superseded by epoch {spec.Epoch}");

        var next = spec.Next(ringRank);
        var previous = spec.Previous(ringRank);
        using var joining = CancellationTokenSource.CreateLinkedTokenSource(cancel, reg.Ending.Token);
        var outbound = ConnectAsync(reg, DateTime.UtcNow + connectTimeout, connectTimeout, joining.Token);
        // a little past the connect timeout: when both fail, the connector's reason (refused, not registered) is the telling one
        var inbound = reg.Inbound.Task.WaitAsync(connectTimeout + TimeSpan.FromMilliseconds(500), joining.Token);
        try
        {
            // fail at the first refusal; success needs both links
            var first = await Task.WhenAny(outbound, inbound);
            await first;
            await Task.WhenAll(outbound, inbound);
            RingConnection connection = null!;
            lock (_gate)
            {
                if (reg.Ended == null)
                    reg.Connection = connection = new RingConnection(spec, ringRank, outbound.Result, inbound.Result, () => Closed(reg));
            }
            if (connection == null) throw new DataPlaneRefusedException(reg.Ended!);
            return connection;
        }
        catch (Exception e)
        {
            var reason = e switch
            {
                OperationCanceledException when cancel.IsCancellationRequested => "the join was cancelled",
                _ when reg.Ended != null => reg.Ended,
                TimeoutException => $"ring rank {reg.Previous} (node {previous.NodeId}) did not connect within {connectTimeout.TotalSeconds:0.###} s",
                DataPlaneRefusedException => e.Message,
                _ => $"joining the ring to ring rank {(ringRank + 1) % w} (node {next.NodeId}) failed: {e.Message}",
            };
            End(reg, reason);
            joining.Cancel();
            // a link that did form is of no use alone
            _ = outbound.ContinueWith(t => { if (t.IsCompletedSuccessfully) t.Result.Dispose(); }, TaskScheduler.Default);
            _ = inbound.ContinueWith(t => { if (t.IsCompletedSuccessfully) t.Result.Dispose(); }, TaskScheduler.Default);
            cancel.ThrowIfCancellationRequested();
            throw new DataPlaneRefusedException(reason);
        }
    }

    /// <summary>That epoch of the run is over: its connection is aborted and it (and any older epoch) is refused from now on.</summary>
    public void Retire(string runId, long epoch)
    {
        Registration? ended = null;
        lock (_gate)
        {
            if (!_runs.TryGetValue(runId, out var run)) _runs[runId] = run = new RunState();
            run.RetiredThrough = Math.Max(run.RetiredThrough, epoch);
            if (run.Ring != null && run.Ring.Spec.Epoch <= epoch)
            {
                ended = run.Ring;
                run.Ring = null;
            }
        }
        if (ended != null) End(ended, $"epoch {ended.Spec.Epoch} of run {runId} was retired");
    }

    public void Dispose()
    {
        List<Registration> rings;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            rings = _runs.Values.Select(r => r.Ring).OfType<Registration>().ToList();
        }
        _stopping.Cancel();
        _socket.Dispose();
        foreach (var r in rings) End(r, "the data-plane listener of this node stopped");
    }

    void End(Registration reg, string reason)
    {
        RingConnection? connection;
        lock (_gate)
        {
            reg.Ended ??= reason;
            connection = reg.Connection;
        }
        reg.Inbound.TrySetException(new DataPlaneRefusedException(reg.Ended));
        try { reg.Ending.Cancel(); } catch (ObjectDisposedException) { }
        connection?.Abort(reg.Ended);
    }

    void Closed(Registration reg)
    {
        lock (_gate)
        {
            reg.Ended ??= "the ring connection was closed";
            reg.Connection = null;
        }
    }

    async Task<RingLink> ConnectAsync(Registration reg, DateTime until, TimeSpan connectTimeout, CancellationToken cancel)
    {
        var spec = reg.Spec;
        var nextRank = (reg.Rank + 1) % spec.WorldSize;
        var peer = spec.Next(reg.Rank);
        var name = $"ring rank {nextRank} (node {peer.NodeId}) at {peer.Host}:{peer.Port}";
        var last = "no answer";
        var pause = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var left = until - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new DataPlaneRefusedException($"could not join {name} within {connectTimeout.TotalSeconds:0.###} s: {last}");
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            Stream stream = null!;
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            attempt.CancelAfter(left < Handshake.Timeout ? left : Handshake.Timeout);
            try
            {
                await socket.ConnectAsync(peer.Host, peer.Port, attempt.Token);
                stream = new NetworkStream(socket, ownsSocket: true);
                if (_tls != null)
                {
                    var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                    stream = ssl;
                    await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                    {
                        TargetHost = peer.Host,
                        ClientCertificateContext = _certificateContext,
                        RemoteCertificateValidationCallback = ValidatePeer,
                        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    }, attempt.Token);
                }
                var nonce = await Handshake.ReadServerHello(stream, attempt.Token);
                var mac = Handshake.Mac(spec.Secret, spec.RunId, spec.Epoch, reg.Rank, nonce);
                await stream.WriteAsync(Handshake.ClientHello(spec.RunId, spec.Epoch, reg.Rank, mac), attempt.Token);
                var (answer, reason) = await Handshake.ReadReply(stream, attempt.Token);
                if (answer == Handshake.Answer.Accepted) return new RingLink(stream, socket);
                stream.Dispose();
                if (answer == Handshake.Answer.Refused) throw new DataPlaneRefusedException($"{name} refused this node: {reason}");
                last = reason; // not registered there yet: it is still joining
            }
            catch (Exception e) when (e is AuthenticationException or InvalidDataException)
            {
                Drop(stream, socket);
                throw new DataPlaneRefusedException($"{name} refused: {e.Message}");
            }
            catch (Exception e) when (e is SocketException or IOException || (e is OperationCanceledException && !cancel.IsCancellationRequested))
            {
                // not listening yet, or a handshake that timed out: try again until the connect timeout
                Drop(stream, socket);
                // an attempt cut short by the connect timeout says less than the peer's last answer
                if (e is not OperationCanceledException) last = e.Message;
                else if (last == "no answer") last = "the handshake timed out";
            }
            catch
            {
                Drop(stream, socket);
                throw;
            }
            await Task.Delay(pause, cancel);
            pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 250));
        }
    }

    async Task AcceptLoop()
    {
        while (true)
        {
            Socket socket;
            try { socket = await _socket.AcceptAsync(_stopping.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                if (_stopping.IsCancellationRequested) return;
                _log($"data plane: accept failed: {e.Message}");
                continue;
            }
            if (Interlocked.Increment(ref _handshaking) > MaxHandshakes)
            {
                Interlocked.Decrement(ref _handshaking);
                _log($"data plane: {MaxHandshakes} connections are in their handshake already: closed one from {socket.RemoteEndPoint}");
                socket.Dispose();
                continue;
            }
            // each connection on its own task: a silent or slow connector holds nothing but itself
            _ = Task.Run(async () =>
            {
                try { await Serve(socket); }
                finally { Interlocked.Decrement(ref _handshaking); }
            });
        }
    }

    async Task Serve(Socket socket)
    {
        var remote = socket.RemoteEndPoint?.ToString() ?? "?";
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        Registration? claimed = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(Handshake.Timeout);
        try
        {
            socket.NoDelay = true;
            if (_tls != null)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = _certificateContext,
                    ClientCertificateRequired = true,
                    RemoteCertificateValidationCallback = ValidatePeer,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                }, timeout.Token);
            }
            var nonce = RandomNumberGenerator.GetBytes(Handshake.NonceBytes);
            await stream.WriteAsync(Handshake.ServerHello(nonce), timeout.Token);
            Handshake.Hello hello;
            try { hello = await Handshake.ReadClientHello(stream, timeout.Token); }
            catch (InvalidDataException e)
            {
                await stream.WriteAsync(Handshake.Reply(Handshake.Answer.Refused, e.Message), timeout.Token);
                throw;
            }
            var (answer, reason, reg) = Decide(hello, nonce);
            await stream.WriteAsync(Handshake.Reply(answer, reason), timeout.Token);
            if (answer != Handshake.Answer.Accepted)
            {
                if (answer == Handshake.Answer.Refused) _log($"data plane: refused {remote} (run {hello.RunId}, epoch {hello.Epoch}, rank {hello.Rank}): {reason}");
                stream.Dispose();
                return;
            }
            claimed = reg;
            if (!reg!.Inbound.TrySetResult(new RingLink(stream, socket))) stream.Dispose();
        }
        catch (Exception e)
        {
            _log($"data plane: dropped a connection from {remote}: {(e is OperationCanceledException ? "the handshake timed out" : e.Message)}");
            Drop(stream, socket);
            claimed?.Inbound.TrySetException(new DataPlaneRefusedException($"the connection from ring rank {claimed.Previous} failed in its handshake: {e.Message}"));
        }
    }

    /// <summary>The listener's verdict on a connector's hello, under the lock so that only one inbound link is accepted per ring.</summary>
    (Handshake.Answer Answer, string Reason, Registration? Ring) Decide(Handshake.Hello hello, byte[] nonce)
    {
        lock (_gate)
        {
            if (!_runs.TryGetValue(hello.RunId, out var run) || run.Current == long.MinValue)
                return (Handshake.Answer.NotYetRegistered, $"run {hello.RunId} is not registered on this node yet", null);
            if (hello.Epoch <= run.RetiredThrough)
                return (Handshake.Answer.Refused, $"epoch {hello.Epoch} of run {hello.RunId} is retired", null);
            if (hello.Epoch < run.Current)
                return (Handshake.Answer.Refused, $"stale epoch {hello.Epoch}, current is {run.Current}", null);
            if (hello.Epoch > run.Current)
                return (Handshake.Answer.NotYetRegistered, $"epoch {hello.Epoch} of run {hello.RunId} is not registered on this node yet (current is {run.Current})", null);
            var reg = run.Ring;
            if (reg == null) return (Handshake.Answer.Refused, $"epoch {hello.Epoch} of run {hello.RunId} is over", null);
            var expected = Handshake.Mac(reg.Spec.Secret, hello.RunId, hello.Epoch, hello.Rank, nonce);
            if (!CryptographicOperations.FixedTimeEquals(expected, hello.Mac))
                return (Handshake.Answer.Refused, "bad MAC: the connector does not hold this lease's secret", null);
            if (hello.Rank != reg.Previous)
                return (Handshake.Answer.Refused, $"ring rank {hello.Rank} is not this node's previous member (ring rank {reg.Previous})", null);
            if (reg.Ended != null) return (Handshake.Answer.Refused, reg.Ended, null);
            if (reg.InboundClaimed) return (Handshake.Answer.Refused, $"ring rank {hello.Rank} is already connected", null);
            reg.InboundClaimed = true;
            return (Handshake.Answer.Accepted, "", reg);
        }
    }

    // the TLS handshake's own verdict is against the system store; ours is against the cluster CA (as for Akka)
    bool ValidatePeer(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var peer = certificate as X509Certificate2 ?? (certificate == null ? null : new X509Certificate2(certificate));
        if (ClusterTls.Refusal(peer, _tls!.Ca) is not { } why) return true;
        _log($"data plane: refused a TLS peer: {why}");
        return false;
    }

    static void Drop(Stream? stream, Socket socket)
    {
        try { stream?.Dispose(); } catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException) { }
        socket.Dispose();
    }
}
