namespace ActorLab.Model.Common;

/// <summary>
/// Bad input from a user (a flag, a config value, a data file, a checkpoint): the message names the culprit
/// and is printed as is, without a stack trace, and the CLI exits non-zero.
/// </summary>
public class UserInputException(string message, Exception? inner = null) : Exception(message, inner);
