"""Create the comments table."""

from kitgen import Database, Migration


class CreateCommentsTable(Migration):
    model = "Comment"

    def up(self, db: Database) -> None:
        db.execute(
            """
            CREATE TABLE comments (
                id INTEGER PRIMARY KEY,
                post_id INTEGER NOT NULL,
                user_id INTEGER NOT NULL,
                body TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                FOREIGN KEY (post_id) REFERENCES posts(id) ON DELETE CASCADE,
                FOREIGN KEY (user_id) REFERENCES users(id)
            )
            """
        )

    def down(self, db: Database) -> None:
        db.execute("DROP TABLE comments")
