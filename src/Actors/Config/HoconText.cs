using System.Text.Json;

namespace ActorLab.Actors.Config;

/// <summary>
/// Values written into HOCON text go through <see cref="Quote"/>: a path with a quote, a backslash, a newline or
/// `${` in it (`--data-dir '/tmp/x" akka.loglevel = DEBUG'`) must stay one string value, never become HOCON.
/// </summary>
public static class HoconText
{
    /// <summary>A HOCON quoted string holding exactly <paramref name="value"/> (a JSON string literal, which HOCON reads as is).</summary>
    public static string Quote(string value) => JsonSerializer.Serialize(value);
}
