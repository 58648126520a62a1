using System.CommandLine;
using ActorLab.Model.Common;

namespace ActorLab.Host.Cli;

/// <summary>
/// The `actorlab` command line. Each command group lives in its own file and contributes a
/// <see cref="Command"/>; bad input surfaces as <see cref="UserInputException"/> and becomes one line on
/// stderr and exit code 2, never a stack trace.
/// </summary>
public static class CliApp
{
    public const int ExitUserError = 2;

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("ActorLab: measure what small transformers store (bits per parameter) on synthetic biographies.");
        foreach (var command in CommandGroups())
            root.Subcommands.Add(command);
        return root;
    }

    /// <summary>Every command group, in the order `actorlab --help` lists them.</summary>
    static IEnumerable<Command> CommandGroups()
    {
        yield return ProfilesCommands.Build();
        yield return TokenizerCommands.Build();
        yield return QaCommands.Build();
        yield return ProbeCommands.Build();
    }

    public static int Run(string[] args)
    {
        try
        {
            var parse = BuildRoot().Parse(args);
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Unwrap(e) is UserInputException u)
        {
            Console.Error.WriteLine($"error: {u.Message}");
            return ExitUserError;
        }
    }

    static Exception Unwrap(Exception e)
    {
        while (e is AggregateException { InnerException: not null } || e is System.Reflection.TargetInvocationException { InnerException: not null })
            e = e.InnerException!;
        return e;
    }
}
