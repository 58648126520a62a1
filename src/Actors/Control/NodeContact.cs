using System.Globalization;
using ActorLab.Model.Common;

namespace ActorLab.Actors.Control;

/// <summary>The HOST:PORT a console or probe client uses to reach an `actorlab node`.</summary>
public static class NodeContact
{
    public static (string Host, int Port) Parse(string contact)
    {
        var i = contact.LastIndexOf(':');
        if (i <= 0 || !int.TryParse(contact[(i + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw new UserInputException($"--contact must be HOST:PORT (e.g. 127.0.0.1:4053), got '{contact}'.");
        return (contact[..i], port);
    }
}
