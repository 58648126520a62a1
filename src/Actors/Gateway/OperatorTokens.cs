using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using ActorLab.Actors.Serialization;
using ActorLab.Model.Common;

namespace ActorLab.Actors.Gateway;

/// <summary>What a console may do: read (status, runs, watch) or operate (also submit, pause, resume, ...).</summary>
public enum OperatorRole { ReadOnly, Operator }

/// <summary>One console's token: a name, its role and a 256-bit secret shared with the coordinator nodes.</summary>
public sealed record OperatorToken(string Name, OperatorRole Role, byte[] Secret);

/// <summary>
/// A console command signed with an operator token: HMAC-SHA256 over the operator's name, the time it was issued,
/// a one-time nonce, and the command (manifest + payload, as the wire carries it). The gateway checks the MAC,
/// refuses it if more than <see cref="OperatorTokens.MaxSkew"/> old or new, or if its nonce was seen before.
/// </summary>
public sealed record SignedRequest(string Operator, long IssuedAtUnixMs, string Nonce, string Manifest, byte[] Payload, string Mac) : IActorLabMessage;

/// <summary>The gateway would not run a console's command: why, in one line.</summary>
public sealed record Refused(string Message) : IActorLabMessage;

/// <summary>
/// A signed request whose operator, signature, freshness and role a gateway checked, passed on to the coordinator
/// with its nonce: the coordinator's <see cref="NonceLedger"/> runs it at most once in the cluster.
/// </summary>
public sealed record VerifiedRequest(string Operator, string Nonce, long IssuedAtUnixMs, string Manifest, byte[] Payload) : IActorLabMessage;

/// <summary>
/// Operator tokens: the coordinator nodes' tokens file (one `NAME ROLE SECRET` line per console, 0600) and a
/// console's own token file (`NAME ROLE SECRET`, the same line), signing and checking requests. Passwords never sit
/// in sweep files or flags: a file or the environment.
/// </summary>
public static class OperatorTokens
{
    public static readonly TimeSpan MaxSkew = TimeSpan.FromSeconds(60);

    /// <summary>The commands a read-only token may send.</summary>
    public static bool ReadOnlyMay(object command) => command is Control.GetStatus or Control.GetRuns or Control.GetRunEvents or Control.Watch;

    public static string Line(OperatorToken t) => $"{t.Name} {RoleName(t.Role)} {Convert.ToBase64String(t.Secret)}";

    static string RoleName(OperatorRole r) => r == OperatorRole.Operator ? "operator" : "read-only";

    public static OperatorRole ParseRole(string s, string what) => s switch
    {
        "operator" => OperatorRole.Operator,
        "read-only" => OperatorRole.ReadOnly,
        _ => throw new UserInputException($"{what}: role '{s}' is not operator or read-only."),
    };

    public static OperatorToken New(string name, OperatorRole role)
    {
        if (name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw new UserInputException($"token name '{name}' must be 1..64 letters, digits, '-', '_' or '.'.");
        return new OperatorToken(name, role, RandomNumberGenerator.GetBytes(32));
    }

    /// <summary>Reads a tokens file; refuses one that others may read (it holds secrets).</summary>
    public static ImmutableDictionary<string, OperatorToken> LoadFile(string path, string what)
    {
        if (!File.Exists(path)) throw new UserInputException($"{what}: '{path}' does not exist.");
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            throw new UserInputException($"{what}: '{path}' can be read by other users (chmod 600 it: it holds secrets).");
        var tokens = ImmutableDictionary.CreateBuilder<string, OperatorToken>(StringComparer.Ordinal);
        var n = 0;
        foreach (var raw in File.ReadLines(path))
        {
            n++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var t = ParseLine(line, $"{what}: {path}:{n}");
            if (!tokens.TryAdd(t.Name, t)) throw new UserInputException($"{what}: {path}:{n}: token '{t.Name}' appears twice.");
        }
        return tokens.ToImmutable();
    }

    public static OperatorToken ParseLine(string line, string where)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 3) throw new UserInputException($"{where}: expected `NAME ROLE SECRET`.");
        byte[] secret;
        try { secret = Convert.FromBase64String(parts[2]); }
        catch (FormatException) { throw new UserInputException($"{where}: the secret is not base64."); }
        if (secret.Length < 16) throw new UserInputException($"{where}: the secret is shorter than 128 bits.");
        return new OperatorToken(parts[0], ParseRole(parts[1], where), secret);
    }

    /// <summary>A console's token: from the file given, else $ACTORLAB_CONSOLE_TOKEN (the same line), else none.</summary>
    public static OperatorToken? ForConsole(string? tokenFile)
    {
        if (tokenFile != null)
        {
            var all = LoadFile(tokenFile, "--token-file");
            return all.Count == 1 ? all.Values.Single() : throw new UserInputException($"--token-file: '{tokenFile}' must hold exactly one token, not {all.Count}.");
        }
        var env = Environment.GetEnvironmentVariable("ACTORLAB_CONSOLE_TOKEN");
        return string.IsNullOrWhiteSpace(env) ? null : ParseLine(env.Trim(), "$ACTORLAB_CONSOLE_TOKEN");
    }

    public static SignedRequest Sign(OperatorToken token, object command, DateTimeOffset now, string? nonce = null)
    {
        var manifest = MessageRegistry.ManifestOf(command.GetType());
        var payload = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(command, command.GetType(), ActorLabSerializer.Standalone);
        var issued = now.ToUnixTimeMilliseconds();
        nonce ??= Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        return new SignedRequest(token.Name, issued, nonce, manifest, payload, Mac(token.Secret, token.Name, issued, nonce, manifest, payload));
    }

    static string Mac(byte[] secret, string name, long issued, string nonce, string manifest, byte[] payload)
    {
        var head = Encoding.UTF8.GetBytes($"{name}\n{issued}\n{nonce}\n{manifest}\n");
        byte[] data = [.. head, .. payload];
        return Convert.ToBase64String(HMACSHA256.HashData(secret, data));
    }

    /// <summary>The command a signed request carries, or why it is refused (unknown operator, bad MAC, stale, not allowed).</summary>
    public static (object? Command, string? Refusal) Open(SignedRequest r, IReadOnlyDictionary<string, OperatorToken> tokens, DateTimeOffset now)
    {
        if (!tokens.TryGetValue(r.Operator, out var token)) return (null, $"unknown operator token '{r.Operator}'");
        var expected = Convert.FromBase64String(Mac(token.Secret, r.Operator, r.IssuedAtUnixMs, r.Nonce, r.Manifest, r.Payload));
        byte[] given;
        try { given = Convert.FromBase64String(r.Mac); }
        catch (FormatException) { return (null, "the request's signature is not base64"); }
        if (!CryptographicOperations.FixedTimeEquals(expected, given)) return (null, $"the signature does not match operator '{r.Operator}' (wrong secret, or the request was altered)");
        var skew = now - DateTimeOffset.FromUnixTimeMilliseconds(r.IssuedAtUnixMs);
        if (skew.Duration() > MaxSkew) return (null, $"the request was issued {skew.TotalSeconds:0} s from now (more than {MaxSkew.TotalSeconds:0} s: a replay, or clocks apart)");
        object command;
        try { command = ActorLabSerializer.Read(r.Payload, r.Manifest, ActorLabSerializer.Standalone); }
        catch (System.Runtime.Serialization.SerializationException e) { return (null, $"the signed command cannot be read: {e.Message}"); }
        if (token.Role == OperatorRole.ReadOnly && !ReadOnlyMay(command))
            return (null, $"operator '{r.Operator}' is read-only: it may run status, runs and watch, not {command.GetType().Name}");
        return (command, null);
    }
}
