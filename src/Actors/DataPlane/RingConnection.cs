using System.Buffers.Binary;
using System.Net.Sockets;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace ActorLab.Actors.DataPlane;

/// <summary>
/// This node's place in one ring: a connection to the next member (this node sends on it) and one from the previous
/// member (this node receives on it). <see cref="AllReduceSum"/> is the classic ring all-reduce: W-1 reduce-scatter
/// steps (receive a chunk, add it to one's own) and W-1 all-gather steps (receive a finished chunk, copy it), each
/// member sending one chunk while receiving another, in blocks (64 KiB to 1 MiB, at least 8 a chunk) so a received
/// block is added, and forwarded at the next step, while the next ones are still on the wire. Sending runs on a thread of its own; receiving on the caller's thread.
/// One call at a time; <see cref="Abort"/> may come from any thread.
/// </summary>
public sealed class RingConnection : IDisposable
{
    // a step's chunk goes in at least 8 blocks (so forwarding starts early) of 64 KiB to 1 MiB (so syscalls stay few)
    const int MinBlockFloats = 1 << 14, MaxBlockFloats = 1 << 18;
    const int HeaderBytes = 24;

    readonly RingSpec _spec;
    readonly int _rank;
    readonly RingLink? _next, _prev;
    readonly Action? _onClosed;
    readonly Thread? _sender;
    readonly SemaphoreSlim _sendGo = new(0), _sendDone = new(0);
    // one permit per received block the sender forwards at the next step (block b of step s is sent at s+1)
    readonly SemaphoreSlim _forwardable = new(0);
    readonly byte[] _sendHeader = new byte[HeaderBytes], _receiveHeader = new byte[HeaderBytes];
    byte[] _block = [];
    string? _failure;
    volatile bool _closed;
    int _timeoutMs = -1;

    // the call in progress, shared with the sender thread (the semaphores order the accesses)
    float[] _buffer = [];
    int _count;
    int _blockFloats = MaxBlockFloats;
    uint _call;
    TimeSpan _deadline;
    string? _sendError;
    volatile int _stop;
    volatile bool _twoHop;

    internal RingConnection(RingSpec spec, int rank, RingLink? next, RingLink? previous, Action? onClosed)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the data plane sends fp32 in little-endian order");
        _spec = spec;
        _rank = rank;
        _next = next;
        _prev = previous;
        _onClosed = onClosed;
        if (spec.WorldSize > 1)
        {
            _sender = new Thread(SendLoop) { IsBackground = true, Name = $"ring {spec.RunId}@{spec.Epoch} rank {rank} send" };
            _sender.Start();
        }
    }

    /// <summary>A ring of one: nothing to exchange.</summary>
    internal static RingConnection Alone(RingSpec spec) => new(spec, 0, null, null, null);

    public string RunId => _spec.RunId;
    public long Epoch => _spec.Epoch;
    public int Rank => _rank;
    public int WorldSize => _spec.WorldSize;
    /// <summary>Why the ring is broken; null while it works.</summary>
    public string? Failure => _failure;

    /// <summary>
    /// In-place sum of buffer[0..count) over every member; every member ends with the same bits. Returns the flags
    /// agreed by all members (max stop, any two-hop). Every member must call it with the same count. A read or write
    /// that waits longer than <paramref name="deadline"/> breaks the ring (so it must cover how far members' steps
    /// can drift apart). Throws <see cref="RingAbortedException"/> on any failure; the connection is then unusable.
    /// </summary>
    public RingFlags AllReduceSum(float[] buffer, int count, RingFlags flags, TimeSpan deadline)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, buffer.Length);
        if (deadline <= TimeSpan.Zero || deadline.TotalMilliseconds > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(deadline));
        if (_failure is { } broken) throw new RingAbortedException(broken);
        if (_spec.WorldSize == 1) return flags;

        var w = _spec.WorldSize;
        var largestChunk = (int)(((long)count + w - 1) / w);
        // the same on every member: it derives from the count and the world size alone
        _blockFloats = Math.Clamp((largestChunk + 7) / 8, MinBlockFloats, MaxBlockFloats);
        var blockBytes = Math.Min(_blockFloats, largestChunk) * sizeof(float);
        if (_block.Length < blockBytes) _block = new byte[blockBytes]; // grows once per larger size, then reused
        var ms = (int)Math.Ceiling(deadline.TotalMilliseconds);
        if (ms != _timeoutMs)
        {
            try
            {
                _prev!.Socket.ReceiveTimeout = ms;
                _next!.Socket.SendTimeout = ms;
                _timeoutMs = ms;
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                throw new RingAbortedException(_failure ?? $"the ring's sockets failed: {e.Message}"); // aborted just now
            }
        }
        _buffer = buffer;
        _count = count;
        _deadline = deadline;
        _call++;
        _sendError = null;
        _stop = flags.Stop;
        _twoHop = flags.TwoHop;
        _sendGo.Release();

        string? receiveError = null;
        try { ReceiveAll(); }
        catch (Exception e) { receiveError = Fail(Describe(e, receiving: true)); }
        // the sender finishes (or fails) within its own timeouts; wait so it no longer reads the caller's buffer
        _sendDone.Wait();
        _buffer = [];
        if (receiveError != null || _sendError != null) throw new RingAbortedException(_failure ?? receiveError ?? _sendError!);
        return new RingFlags(_stop, _twoHop);
    }

    /// <summary>Breaks the ring: a call in progress here throws, and closing both sockets makes the neighbours fail fast too.</summary>
    public void Abort(string reason) => Fail(reason);

    public void Dispose()
    {
        Fail("the ring connection was closed");
        _closed = true;
        _sendGo.Release(); // lets the sender thread see _closed and end
        _next?.Dispose();
        _prev?.Dispose();
        _onClosed?.Invoke();
    }

    /// <summary>Records the first failure (it names the cause; later ones are its echoes) and closes both sockets.</summary>
    string Fail(string reason)
    {
        Interlocked.CompareExchange(ref _failure, reason, null);
        _next?.Close();
        _prev?.Close();
        _forwardable.Release(); // a sender waiting for a block wakes, sees the failure and stops
        return _failure!;
    }

    void ReceiveAll()
    {
        var w = _spec.WorldSize;
        var steps = 2 * (w - 1);
        var stream = _prev!.Stream;
        for (var step = 0; step < steps; step++)
        {
            var (start, length) = Chunk(Mod(_rank - step - 1));
            var blocks = Blocks(length);
            for (var b = 0; b < blocks; b++)
            {
                var (offset, n) = Block(start, length, b);
                stream.ReadExactly(_receiveHeader);
                CheckHeader(step, n);
                var target = _buffer.AsSpan(offset, n);
                if (step < w - 1)
                {
                    // reduce-scatter: add the previous member's partial sum into ours
                    var incoming = _block.AsSpan(0, n * sizeof(float));
                    stream.ReadExactly(incoming);
                    TensorPrimitives.Add(target, MemoryMarshal.Cast<byte, float>(incoming), target);
                }
                else
                {
                    // all-gather: the chunk's owner's final bits, copied as they are so all members agree exactly
                    stream.ReadExactly(MemoryMarshal.AsBytes(target));
                }
                if (_failure != null) throw new OperationCanceledException();
                if (step < steps - 1) _forwardable.Release();
            }
        }
    }

    void CheckHeader(int step, int floats)
    {
        var h = _receiveHeader;
        var call = BinaryPrimitives.ReadUInt32LittleEndian(h);
        var theirStep = BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(4));
        var twoHop = (BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(6)) & 1) != 0;
        var stop = BinaryPrimitives.ReadInt32LittleEndian(h.AsSpan(8));
        var bytes = BinaryPrimitives.ReadInt32LittleEndian(h.AsSpan(12));
        var count = BinaryPrimitives.ReadInt64LittleEndian(h.AsSpan(16));
        if (count != _count)
            throw new InvalidDataException($"it all-reduces {count} values, this node {_count}");
        if (call != _call || theirStep != step)
            throw new InvalidDataException($"it is out of step: its frame is of all-reduce {call} step {theirStep}, this node expects all-reduce {_call} step {step}");
        if (bytes != floats * sizeof(float))
            throw new InvalidDataException($"its frame holds {bytes} bytes, this node expects {floats * sizeof(float)}");
        // only this thread writes the flags; the sender reads them for each frame it sends
        if (stop > _stop) _stop = stop;
        if (twoHop) _twoHop = true;
    }

    void SendLoop()
    {
        while (true)
        {
            _sendGo.Wait();
            if (_closed) return;
            try { SendAll(); }
            catch (Exception e) { _sendError = Fail(Describe(e, receiving: false)); }
            _sendDone.Release();
        }
    }

    void SendAll()
    {
        var w = _spec.WorldSize;
        var stream = _next!.Stream;
        for (var step = 0; step < 2 * (w - 1); step++)
        {
            var (start, length) = Chunk(Mod(_rank - step));
            var blocks = Blocks(length);
            for (var b = 0; b < blocks; b++)
            {
                // from step 1 on, what we send is what we received (and added) at the step before
                if (step > 0 && !_forwardable.Wait(_deadline))
                    throw new TimeoutException($"no data from ring rank {Mod(_rank - 1)} (node {_spec.Previous(_rank).NodeId}) within {Seconds(_deadline)} s");
                if (_failure != null) throw new OperationCanceledException();
                var (offset, n) = Block(start, length, b);
                var h = _sendHeader;
                BinaryPrimitives.WriteUInt32LittleEndian(h, _call);
                BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(4), (ushort)step);
                BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(6), (ushort)(_twoHop ? 1 : 0));
                BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(8), _stop);
                BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(12), n * sizeof(float));
                BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(16), _count);
                stream.Write(h);
                stream.Write(MemoryMarshal.AsBytes(_buffer.AsSpan(offset, n)));
            }
        }
        stream.Flush();
    }

    /// <summary>What went wrong, naming the peer: the next member for a send, the previous one for a receive.</summary>
    string Describe(Exception e, bool receiving)
    {
        if (_failure != null) return _failure; // an abort or the other direction's failure came first: that is the cause
        var peerRank = receiving ? Mod(_rank - 1) : Mod(_rank + 1);
        var peer = $"ring rank {peerRank} (node {(receiving ? _spec.Previous(_rank) : _spec.Next(_rank)).NodeId})";
        var timedOut = e is TimeoutException ||
                       e is IOException { InnerException: SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock } } ||
                       e is SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock };
        return e switch
        {
            TimeoutException => e.Message,
            _ when timedOut && receiving => $"no data from {peer} within {Seconds(_deadline)} s",
            _ when timedOut => $"{peer} took no data within {Seconds(_deadline)} s",
            EndOfStreamException => $"{peer} closed the connection",
            InvalidDataException => $"{peer}: {e.Message}",
            _ => $"{(receiving ? "receiving from" : "sending to")} {peer} failed: {e.Message}",
        };
    }

    static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);

    int Mod(int r) => ((r % _spec.WorldSize) + _spec.WorldSize) % _spec.WorldSize;

    /// <summary>Chunk c of the W equal parts of buffer[0..count) (sizes differ by at most one value).</summary>
    (int Start, int Length) Chunk(int c)
    {
        var w = _spec.WorldSize;
        var start = (int)((long)c * _count / w);
        var end = (int)((long)(c + 1) * _count / w);
        return (start, end - start);
    }

    // an empty chunk still sends one frame: its header carries the step and the flags
    int Blocks(int length) => length == 0 ? 1 : (length + _blockFloats - 1) / _blockFloats;

    (int Offset, int Length) Block(int start, int length, int b)
    {
        var offset = b * _blockFloats;
        return (start + offset, Math.Min(_blockFloats, length - offset));
    }
}
