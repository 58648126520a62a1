using System.Globalization;
using ActorLab.Model.Common;

namespace ActorLab.Actors.Control;

/// <summary>The HOST:PORT a console, probe client or node uses to reach an `actorlab node` (contacts, seeds).</summary>
public static class NodeContact
{
    public static (string Host, int Port) Parse(string contact, string flag = "--contact")
    {
        var i = contact.LastIndexOf(':');
        if (i <= 0 || !int.TryParse(contact[(i + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw new UserInputException($"{flag} must be HOST:PORT (e.g. 127.0.0.1:4053), got '{contact}'.");
        var host = contact[..i];
        if (host.Any(c => char.IsWhiteSpace(c) || c is '"' or '\\' or '/' or '@' or '#'))
            throw new UserInputException($"{flag}: '{host}' is not a host name or address.");
        return (host, port);
    }

    /// <summary>"HOST:PORT[,HOST:PORT...]", each checked.</summary>
    public static IReadOnlyList<(string Host, int Port)> ParseList(string contacts, string flag = "--contact")
    {
        var parts = contacts.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new UserInputException($"{flag} needs at least one HOST:PORT.");
        return parts.Select(p => Parse(p, flag)).ToList();
    }
}
