using System.CommandLine;

namespace ActorLab.Host.Cli;

/// <summary>`actorlab profiles generate|stats|export` (issue: profiles database).</summary>
public static class ProfilesCommands
{
    public static Command Build()
    {
        var profiles = new Command("profiles", "Generate, inspect and export synthetic profile databases (SPEC 1).");
        return profiles;
    }
}
