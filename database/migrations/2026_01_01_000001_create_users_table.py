"""Create the users table."""

from kitgen import Database, Migration


class CreateUsersTable(Migration):
    model = "User"

    def up(self, db: Database) -> None:
        db.execute(
            """
            CREATE TABLE users (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                email TEXT NOT NULL UNIQUE,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            )
            """
        )

    def down(self, db: Database) -> None:
        db.execute("DROP TABLE users")
