using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace ActorLab.Actors.DataPlane;

/// <summary>
/// The data plane's opening exchange on each new connection (the connector is the sender of the ring's data, the
/// acceptor its receiver):
/// <code>
///   acceptor  -> connector: "ALDP" version(1) nonce(16)
///   connector -> acceptor:  "ALDP" runLength(u16) run(UTF-8, at most 512) epoch(i64) rank(i32) mac(32)
///   acceptor  -> connector: Accepted(0) | NotYetRegistered(1) reasonLength(u16) reason | Refused(2) reasonLength(u16) reason
/// </code>
/// mac = HMAC-SHA256(secret, runLength run epoch rank nonce): the fresh nonce makes a recorded handshake useless
/// to replay, and the lease's secret proves the connector holds this epoch's lease. Integers are little-endian.
/// </summary>
static class Handshake
{
    public const int MaxRunIdBytes = 512;
    public const int MaxReasonBytes = 1024;
    public const int NonceBytes = 16;
    public const int MacBytes = 32;
    public static readonly byte[] Magic = "ALDP"u8.ToArray();
    public const byte Version = 1;
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public enum Answer : byte { Accepted = 0, NotYetRegistered = 1, Refused = 2 }

    public sealed record Hello(string RunId, long Epoch, int Rank, byte[] Mac);

    public static byte[] ServerHello(byte[] nonce) => [.. Magic, Version, .. nonce];

    public static byte[] Mac(byte[] secret, string runId, long epoch, int rank, byte[] nonce)
    {
        var run = Encoding.UTF8.GetBytes(runId);
        var message = new byte[2 + run.Length + 8 + 4 + nonce.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(message, (ushort)run.Length);
        run.CopyTo(message, 2);
        BinaryPrimitives.WriteInt64LittleEndian(message.AsSpan(2 + run.Length), epoch);
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(10 + run.Length), rank);
        nonce.CopyTo(message, 14 + run.Length);
        return HMACSHA256.HashData(secret, message);
    }

    public static byte[] ClientHello(string runId, long epoch, int rank, byte[] mac)
    {
        var run = Encoding.UTF8.GetBytes(runId);
        var frame = new byte[4 + 2 + run.Length + 8 + 4 + MacBytes];
        Magic.CopyTo(frame, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(4), (ushort)run.Length);
        run.CopyTo(frame, 6);
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(6 + run.Length), epoch);
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(14 + run.Length), rank);
        mac.CopyTo(frame, 18 + run.Length);
        return frame;
    }

    /// <summary>Reads the connector's hello; a malformed one throws <see cref="InvalidDataException"/> before any large read.</summary>
    public static async Task<Hello> ReadClientHello(Stream s, CancellationToken cancel)
    {
        var head = new byte[6];
        await s.ReadExactlyAsync(head, cancel);
        if (!head.AsSpan(0, 4).SequenceEqual(Magic)) throw new InvalidDataException("not an ActorLab data-plane hello");
        var runLength = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(4));
        if (runLength is 0 or > MaxRunIdBytes) throw new InvalidDataException($"run id of {runLength} bytes (1 to {MaxRunIdBytes} allowed)");
        var rest = new byte[runLength + 8 + 4 + MacBytes];
        await s.ReadExactlyAsync(rest, cancel);
        string run;
        try { run = new UTF8Encoding(false, true).GetString(rest, 0, runLength); }
        catch (DecoderFallbackException) { throw new InvalidDataException("run id is not UTF-8"); }
        return new Hello(run, BinaryPrimitives.ReadInt64LittleEndian(rest.AsSpan(runLength)),
            BinaryPrimitives.ReadInt32LittleEndian(rest.AsSpan(runLength + 8)), rest.AsSpan(runLength + 12, MacBytes).ToArray());
    }

    /// <summary>Reads the acceptor's hello and returns its nonce.</summary>
    public static async Task<byte[]> ReadServerHello(Stream s, CancellationToken cancel)
    {
        var hello = new byte[Magic.Length + 1 + NonceBytes];
        await s.ReadExactlyAsync(hello, cancel);
        if (!hello.AsSpan(0, 4).SequenceEqual(Magic)) throw new InvalidDataException("the peer is not an ActorLab data-plane listener");
        if (hello[4] != Version) throw new InvalidDataException($"the peer speaks data-plane version {hello[4]}, this node {Version}");
        return hello.AsSpan(5).ToArray();
    }

    public static byte[] Reply(Answer answer, string reason = "")
    {
        if (answer == Answer.Accepted) return [(byte)Answer.Accepted];
        var text = Encoding.UTF8.GetBytes(reason);
        if (text.Length > MaxReasonBytes) text = text[..MaxReasonBytes];
        var frame = new byte[3 + text.Length];
        frame[0] = (byte)answer;
        BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(1), (ushort)text.Length);
        text.CopyTo(frame, 3);
        return frame;
    }

    public static async Task<(Answer Answer, string Reason)> ReadReply(Stream s, CancellationToken cancel)
    {
        var code = new byte[1];
        await s.ReadExactlyAsync(code, cancel);
        if (code[0] == (byte)Answer.Accepted) return (Answer.Accepted, "");
        if (code[0] is not ((byte)Answer.NotYetRegistered or (byte)Answer.Refused)) throw new InvalidDataException($"unknown handshake answer {code[0]}");
        var length = new byte[2];
        await s.ReadExactlyAsync(length, cancel);
        var n = BinaryPrimitives.ReadUInt16LittleEndian(length);
        if (n > MaxReasonBytes) throw new InvalidDataException($"refusal reason of {n} bytes");
        var text = new byte[n];
        await s.ReadExactlyAsync(text, cancel);
        return ((Answer)code[0], Encoding.UTF8.GetString(text));
    }
}
