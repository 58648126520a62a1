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
        foreach (var command in TrainCommands.Build()) yield return command;
        yield return LogitsCommands.Build();
        foreach (var command in CapacityCommands.Build()) yield return command;
        yield return ProbeCommands.Build();
        yield return SweepCommands.Build();
        yield return NodeCommands.Build();
        yield return ConsoleCommands.Build();
        yield return DbCommands.Build();
    }

    public static int Run(string[] args)
    {
        try
        {
            var parse = BuildRoot().Parse(args);
            // Malformed flags (unknown option, "--n abc", missing value) are bad input like any other:
            // one line per problem naming it, exit 2, rather than System.CommandLine's exit 1 and full help.
            if (parse.Errors.Count > 0 && !IsHelpRequest(args))
            {
                foreach (var error in parse.Errors)
                    Console.Error.WriteLine($"error: {error.Message}");
                var command = string.Join(" ", CommandPath(parse.CommandResult));
                Console.Error.WriteLine($"See 'actorlab {command}{(command.Length > 0 ? " " : "")}--help'.");
                return ExitUserError;
            }
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Unwrap(e) is UserInputException u)
        {
            Console.Error.WriteLine($"error: {u.Message}");
            return ExitUserError;
        }
    }

    static bool IsHelpRequest(string[] args) => args.Any(a => a is "--help" or "-h" or "-?");

    static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new List<string>();
        for (System.CommandLine.Parsing.SymbolResult? r = result; r is System.CommandLine.Parsing.CommandResult c && c.Parent != null; r = r.Parent)
            names.Insert(0, c.Command.Name);
        return names;
    }

    static Exception Unwrap(Exception e)
    {
        while (e is AggregateException { InnerException: not null } || e is System.Reflection.TargetInvocationException { InnerException: not null })
            e = e.InnerException!;
        return e;
    }
}
